ALTER TABLE blog.posts ADD COLUMN author String;

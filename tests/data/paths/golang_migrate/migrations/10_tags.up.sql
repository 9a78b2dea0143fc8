ALTER TABLE blog.posts ADD COLUMN tags Array(String);

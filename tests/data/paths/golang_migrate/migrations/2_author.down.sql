ALTER TABLE blog.posts DROP COLUMN author;

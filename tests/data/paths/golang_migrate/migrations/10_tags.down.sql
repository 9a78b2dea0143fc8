ALTER TABLE blog.posts DROP COLUMN tags;

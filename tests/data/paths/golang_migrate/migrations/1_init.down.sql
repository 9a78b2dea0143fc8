DROP TABLE blog.posts;

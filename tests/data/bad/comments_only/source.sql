-- nothing here yet

/* a block
   comment */
# and a hash comment

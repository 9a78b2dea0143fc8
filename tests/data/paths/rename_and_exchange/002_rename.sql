RENAME TABLE inv.old_stock TO inv.archive;

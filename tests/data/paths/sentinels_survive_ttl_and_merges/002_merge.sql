-- Merges run now instead of some time later: TTL, sums and collapsing do what they do to every row.
OPTIMIZE TABLE metrics.hits FINAL;
OPTIMIZE TABLE metrics.daily FINAL;
OPTIMIZE TABLE metrics.sessions FINAL;
OPTIMIZE TABLE metrics.users FINAL;

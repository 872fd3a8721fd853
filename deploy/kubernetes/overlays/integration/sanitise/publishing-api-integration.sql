-- Example: run in the restore's temporary database before the swap.
-- Integration keeps a month of link changes only.
DELETE FROM link_changes WHERE created_at < now() - interval '1 month';

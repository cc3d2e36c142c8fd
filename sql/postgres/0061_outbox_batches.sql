-- Analytics ingestion, cheaper pruning (see analytics/ingest.py):
-- no UNIQUE index on outbox.event_id: nothing looks rows up by it, and
-- maintaining it on random UUIDs was most of the cost of pruning a batch.
-- ClickHouse drops a re-sent batch by its dedup token, and its events table
-- (a ReplacingMergeTree on event_id) is the second line of defence.
-- Postgres keeps stamping batch_id on claimed rows (ids are handed out before
-- commit, so an id range could skip a late commit); the id-range batches of
-- outbox_batches are SQLite's alone.
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_event_id_key;

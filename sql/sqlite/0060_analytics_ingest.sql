-- Analytics ingestion: which outbox rows belong to the batch in flight, and
-- the ingester's lease and identity.
-- A batch is claimed by stamping batch_id on its rows before it is sent; a
-- batch that was sent but not pruned (crash, timeout) is re-sent with the very
-- same rows and the same insert_deduplication_token, so ClickHouse drops it.
ALTER TABLE outbox ADD COLUMN batch_id BIGINT;
-- partial: stamping a batch adds entries instead of moving them in a full index
CREATE INDEX outbox_batch ON outbox (batch_id) WHERE batch_id IS NOT NULL;

CREATE TABLE analytics_ingest (
    id           INTEGER PRIMARY KEY,       -- always 1
    epoch        TEXT NOT NULL,             -- random; part of every dedup token
    owner        TEXT,                      -- ingester holding the lease
    lease_until  BIGINT NOT NULL DEFAULT 0,
    last_batch_at BIGINT,
    ingested     BIGINT NOT NULL DEFAULT 0
);

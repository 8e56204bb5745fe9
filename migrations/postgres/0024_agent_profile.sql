-- Issue 12: the name and picture customers see for an agent, chosen by the agent. Without a
-- display name the widget shows the first word of their name, never the whole legal name.
ALTER TABLE agents ADD COLUMN display_name TEXT;
-- The picture: a small image the console has already scaled down (at most 64 KiB), kept here so
-- every node serves it; avatar_at changes with it, so its address changes and caches stay right.
ALTER TABLE agents ADD COLUMN avatar BYTEA;
ALTER TABLE agents ADD COLUMN avatar_type TEXT;
ALTER TABLE agents ADD COLUMN avatar_at BIGINT;

-- The post service's schema: room posts in user and community feeds.
CREATE SCHEMA IF NOT EXISTS post;

CREATE TABLE post.posts (
    post_id text PRIMARY KEY,
    data_type text NOT NULL,
    room_id text NOT NULL,
    text text NOT NULL,
    title text NOT NULL DEFAULT '',
    target_type text NOT NULL,
    target_id text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}',
    mention_user_ids text[] NOT NULL DEFAULT '{}',
    hashtags text[] NOT NULL DEFAULT '{}',
    creator_id text NOT NULL,
    create_request_id text,
    create_time timestamptz NOT NULL,
    update_time timestamptz NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    delete_time timestamptz
);
-- ListPosts: a feed newest first, keyset on (create_time, post_id).
CREATE INDEX posts_feed ON post.posts (target_type, target_id, create_time DESC, post_id DESC)
    WHERE NOT deleted;
-- ListPosts without a target: every feed, newest first.
CREATE INDEX posts_all ON post.posts (create_time DESC, post_id DESC) WHERE NOT deleted;
-- ListPostsByRoom.
CREATE INDEX posts_by_room ON post.posts (room_id, create_time DESC, post_id DESC)
    WHERE NOT deleted;
-- CreateRoomPost idempotency per caller.
CREATE UNIQUE INDEX posts_create_request ON post.posts (creator_id, create_request_id)
    WHERE create_request_id IS NOT NULL;

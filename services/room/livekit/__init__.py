"""The room service's LiveKit adapter: webhook events applied to rooms (`events`) and what
LiveKit reported about each room (`repository`: applied events, sessions, connected and
departed participant sids, recordings)."""

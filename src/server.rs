//! Serving: `run(listeners, state, shutdown)` serves the router on already-bound listeners.

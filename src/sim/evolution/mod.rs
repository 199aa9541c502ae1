//! Evolution API v2 simulator.

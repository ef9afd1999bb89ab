//! The writer: layout, concurrency, resume, repair and refusals.

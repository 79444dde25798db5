//! Examples live in this package as `[[example]]` targets.

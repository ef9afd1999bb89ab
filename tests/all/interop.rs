//! Both directions against the Python reference.

//! The repository ports' contract (`ngobrol_core::contract`), run on the
//! in-memory store: a fresh `MemoryStore` per test.

mod memory {
    use std::sync::Arc;

    use ngobrol_core::memory::MemoryStore;

    ngobrol_core::contract_suite!(Arc::new(MemoryStore::new()));
}

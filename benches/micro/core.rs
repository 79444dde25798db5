//! Micro benchmarks of the chat rules alone: dispatching a direct and a
//! group message through `ChatService` on the in-memory ports, so what is
//! measured is the service's own work (token check, rate limiter, rule
//! look-ups, building the delivery), with no database or broker behind it.
//!
//! ```sh
//! cargo bench -p ngobrol-benches --bench core
//! ```

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ngobrol_core::memory::{MemoryOutbound, MemoryStore};
use ngobrol_core::{Auth, ChatService, PasswordHasher, Ports, RateLimit, ServiceConfig, Username};

/// How many messages may wait in the in-memory mailboxes before the
/// benchmark drains them: enough that draining is a small share of the
/// time, few enough that memory stays flat however long criterion runs.
const DRAIN_EVERY: u64 = 1024;

struct World {
    rt: tokio::runtime::Runtime,
    chat: ChatService,
    outbound: Arc<MemoryOutbound>,
}

impl World {
    fn new() -> Self {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let outbound = Arc::new(MemoryOutbound::new());
        let ports = Ports::new(Arc::new(MemoryStore::new()), outbound.clone());
        let config = ServiceConfig {
            // Setup registers and logs in; the hashing cost is not what is
            // measured here.
            pbkdf2_iterations: PasswordHasher::MIN_ITERATIONS,
            // The default limit (50/s per user) would refuse nearly every
            // benchmark iteration.
            request_rate: RateLimit::UNLIMITED,
            ..ServiceConfig::default()
        };
        let chat = ChatService::new(ports, config).unwrap();
        Self { rt, chat, outbound }
    }

    /// Registers and logs in `name`.
    fn user(&self, name: &str) -> Auth {
        let user = Username::parse(name).unwrap();
        let password = ngobrol_core::Password::new("rahasia-bench");
        self.rt.block_on(async {
            self.chat.register(&user, &password).await.unwrap();
            let token = self.chat.login(&user, &password, None).await.unwrap().token;
            Auth::new(user, token)
        })
    }
}

fn send_direct(c: &mut Criterion) {
    let world = World::new();
    let ana = world.user("ana");
    let budi = world.user("budi");
    world
        .rt
        .block_on(world.chat.add_friend(&ana, &budi.user))
        .unwrap();
    let text = world.chat.message_text("halo, apa kabar?").unwrap();
    c.bench_function("core/send_direct", |b| {
        b.iter_custom(|iters| {
            world.rt.block_on(async {
                let start = Instant::now();
                for i in 1..=iters {
                    let delivery = world.chat.send_direct(&ana, &budi.user, text.clone());
                    delivery.await.unwrap();
                    if i % DRAIN_EVERY == 0 {
                        world.outbound.drain(&budi.user);
                    }
                }
                let elapsed = start.elapsed();
                world.outbound.drain(&budi.user);
                elapsed
            })
        })
    });
}

fn send_group(c: &mut Criterion) {
    let mut bench = c.benchmark_group("core/send_group");
    for members in [10, 100] {
        let world = World::new();
        let users: Vec<Auth> = (0..members)
            .map(|i| world.user(&format!("m{i:03}")))
            .collect();
        let admin = &users[0];
        let name = ngobrol_core::GroupName::parse("Keluarga").unwrap();
        let group = world.rt.block_on(async {
            let group = world.chat.create_group(admin, &name).await.unwrap();
            for member in &users[1..] {
                world
                    .chat
                    .add_member(admin, group.id, &member.user)
                    .await
                    .unwrap();
            }
            group.id
        });
        let drain = || {
            for member in &users {
                world.outbound.drain(&member.user);
            }
        };
        drain();
        let text = world.chat.message_text("halo semua").unwrap();
        bench.bench_function(format!("{members}_members"), |b| {
            b.iter_custom(|iters| {
                world.rt.block_on(async {
                    let start = Instant::now();
                    for i in 1..=iters {
                        let sender = &users[(i % members as u64) as usize];
                        world
                            .chat
                            .send_group(sender, group, text.clone())
                            .await
                            .unwrap();
                        // Every delivery lands in every mailbox: drain
                        // sooner the bigger the group.
                        if i % (DRAIN_EVERY / members as u64).max(1) == 0 {
                            drain();
                        }
                    }
                    let elapsed = start.elapsed();
                    drain();
                    elapsed
                })
            })
        });
    }
    bench.finish();
}

criterion_group! {
    name = core;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = send_direct, send_group
}
criterion_main!(core);

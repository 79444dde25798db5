//! Password hashing with PBKDF2-HMAC-SHA256, off the async workers.

use std::sync::Arc;

use pbkdf2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
use pbkdf2::phc::PasswordHash;
use pbkdf2::{Algorithm, Params, Pbkdf2};
use tokio::sync::Semaphore;

use crate::error::ChatError;
use crate::types::Password;

/// The metric of how many hashes wait for a permit.
pub const HASHING_QUEUE: &str = "ngobrol_hashing_queue_length";
/// The metric of how long a hash waited for a permit, in seconds.
pub const HASHING_WAIT: &str = "ngobrol_hashing_wait_seconds";

/// Hashes and verifies passwords.
///
/// Hashing is deliberately slow (about 56 ms per hash at the default
/// 600,000 iterations in a release build here), so each hash runs on a
/// thread of its own at the lowest priority, and a semaphore bounds how
/// many run at once: a login storm then waits for permits and for spare
/// CPU instead of stalling message routing.
#[derive(Clone, Debug)]
pub struct PasswordHasher {
    pbkdf2: Pbkdf2,
    permits: Arc<Semaphore>,
    /// The hash of a random password, verified against when a login names
    /// an unknown user, so that such a login costs as much as a real one
    /// and its timing does not tell which names exist.
    decoy: Arc<str>,
}

impl PasswordHasher {
    /// The iteration count OWASP recommends for PBKDF2-HMAC-SHA256.
    pub const DEFAULT_ITERATIONS: u32 = Params::RECOMMENDED_ROUNDS;
    /// The fewest iterations the algorithm accepts (for tests only).
    pub const MIN_ITERATIONS: u32 = Params::MIN_ROUNDS;

    /// A hasher with `iterations` rounds and at most `concurrency` hashes
    /// running at once.
    pub fn new(iterations: u32, concurrency: usize) -> Result<Self, ChatError> {
        let params = Params::new(iterations).map_err(|_| {
            ChatError::Internal(format!(
                "PBKDF2 needs at least {} iterations, got {iterations}",
                Self::MIN_ITERATIONS
            ))
        })?;
        let pbkdf2 = Pbkdf2::new(Algorithm::Pbkdf2Sha256, params);
        let decoy = pbkdf2
            .hash_password(crate::types::Token::generate()?.expose().as_bytes())
            .map_err(|e| ChatError::Internal(format!("password hashing failed: {e}")))?
            .to_string();
        Ok(Self {
            pbkdf2,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            decoy: decoy.into(),
        })
    }

    /// The PHC string of `password` with a fresh random salt.
    pub async fn hash(&self, password: &Password) -> Result<String, ChatError> {
        let pbkdf2 = self.pbkdf2;
        let password = password.clone();
        self.run(move || {
            pbkdf2
                .hash_password(password.expose().as_bytes())
                .map(|hash| hash.to_string())
                .map_err(|e| ChatError::Internal(format!("password hashing failed: {e}")))
        })
        .await
    }

    /// Whether `password` matches the PHC string `stored`. The comparison
    /// inside is constant-time. `None` verifies against a decoy and is
    /// always false.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<bool, ChatError> {
        let known = stored.is_some();
        let stored = stored
            .map(str::to_owned)
            .unwrap_or_else(|| self.decoy.to_string());
        let pbkdf2 = self.pbkdf2;
        let password = password.clone();
        let matches = self
            .run(move || {
                let parsed = PasswordHash::new(&stored)
                    .map_err(|e| ChatError::Internal(format!("stored hash unreadable: {e}")))?;
                Ok(pbkdf2
                    .verify_password(password.expose().as_bytes(), &parsed)
                    .is_ok())
            })
            .await?;
        Ok(known && matches)
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, ChatError> + Send + 'static,
    ) -> Result<T, ChatError> {
        // Counted through the `metrics` facade, for the embedder's
        // recorder: how many wait for a permit, and how long each waited.
        let queued = Queued::enter();
        let permit = self.permits.acquire().await;
        drop(queued);
        let _permit = permit.map_err(|_| ChatError::Internal("password hasher closed".into()))?;
        // A thread of its own, at the lowest priority: hashing then takes
        // only the CPU that routing messages leaves (a login storm slows
        // logins, not messages), and never holds a thread of the blocking
        // pool that the store's calls use. Starting a thread costs tens of
        // microseconds, next to a hash's tens of milliseconds.
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("ngobrol-hash".into())
            .spawn(move || {
                lower_priority();
                let _ = done.send(work());
            })
            .map_err(|e| ChatError::Internal(format!("cannot start a hashing thread: {e}")))?;
        result
            .await
            .map_err(|_| ChatError::Internal("password hashing failed".into()))?
    }
}

/// Gives the calling thread the lowest scheduling priority (nice 19), on
/// Linux, where a thread's niceness is its own; elsewhere, nothing.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        let thread = rustix::thread::gettid();
        if let Err(e) = rustix::process::setpriority_process(Some(thread), 19) {
            tracing::debug!("cannot lower a hashing thread's priority: {e}");
        }
    }
}

/// One hash waiting for a permit, counted until it has one (or its
/// caller gave up).
struct Queued(std::time::Instant);

impl Queued {
    fn enter() -> Self {
        metrics::gauge!(HASHING_QUEUE).increment(1.0);
        Self(std::time::Instant::now())
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        metrics::gauge!(HASHING_QUEUE).decrement(1.0);
        metrics::histogram!(HASHING_WAIT).record(self.0.elapsed().as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hasher = PasswordHasher::new(PasswordHasher::MIN_ITERATIONS, 2).unwrap();
        let hash = hasher.hash(&Password::new("correct horse")).await.unwrap();
        assert!(hash.starts_with("$pbkdf2-sha256$i=1000,"), "{hash}");
        assert!(
            hasher
                .verify(&Password::new("correct horse"), Some(&hash))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(&Password::new("wrong horse"), Some(&hash))
                .await
                .unwrap()
        );
    }

    #[tokio::test]
    async fn salts_differ_between_hashes_of_one_password() {
        let hasher = PasswordHasher::new(PasswordHasher::MIN_ITERATIONS, 2).unwrap();
        let a = hasher.hash(&Password::new("same")).await.unwrap();
        let b = hasher.hash(&Password::new("same")).await.unwrap();
        assert_ne!(a, b);
    }

    #[tokio::test]
    async fn an_unknown_user_never_verifies() {
        let hasher = PasswordHasher::new(PasswordHasher::MIN_ITERATIONS, 1).unwrap();
        assert!(!hasher.verify(&Password::new(""), None).await.unwrap());
    }

    #[test]
    fn too_few_iterations_are_refused() {
        assert!(PasswordHasher::new(10, 1).is_err());
    }
}

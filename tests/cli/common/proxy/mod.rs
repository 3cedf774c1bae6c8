//! A fault-injecting HTTP proxy in front of moto, on 127.0.0.1. The tool under test talks to
//! it through `--endpoint-url`; it forwards each request to moto (one upstream connection per
//! request) and can:
//!
//! * cut the network right after the k-th write AWS accepted: that write takes effect in
//!   moto, its response never arrives, and every later connection is dropped (network gone,
//!   or the process killed at that instant);
//! * lose the response of the k-th write AWS accepted, once (the SDK retries it);
//! * answer the first attempt of every mutating call with a real AWS throttling error for
//!   its protocol (IAM/STS query XML `Throttling`, S3 `SlowDown` 503, DynamoDB JSON
//!   `ThrottlingException`), forwarding the retries.
//!
//! Requests are classified with [`classify`](super::moto::classify), the same rules the moto
//! recorder assertions use.
//!
//! Which write is the k-th does not depend on timing. The tool makes its writes concurrently,
//! so the order in which they arrive, and the order in which AWS answers them, varies from
//! run to run. Writes are therefore counted when AWS's answer comes back, and only the ones
//! AWS accepted: a write the AWS behaviour layer refused (its response carries
//! `x-aws-layer-refused`) changed nothing and is not counted. A write the fault may be for
//! (one that would be the k-th if accepted, or one of the operation the fault names) goes to
//! AWS alone: it waits until no other write is at AWS, and no other write starts until its
//! answer is back. So when it is accepted it is exactly the k-th, the fault hits it and only
//! it, and (for a cut) no other write reaches AWS after it. When it is refused, the next
//! write the fault may be for goes alone in turn.

mod http;

use std::collections::{BTreeMap, HashSet};
use std::io::BufReader;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::moto::{classify, RecordedRequest};
use http::{forward, read_request, respond, throttle_response, Request};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Forward until AWS accepted the k-th write (1-based), drop its response and everything
    /// after.
    CutAfter(usize),
    /// Drop the response to the k-th write AWS accepted; carry on afterwards.
    LoseResponse(usize),
    /// Like `CutAfter`, at the first write for this operation that AWS accepted.
    CutAfterOperation(String),
    /// Like `LoseResponse`, for the first write for this operation that AWS accepted.
    LoseResponseOf(String),
    /// Answer the first attempt of every mutating call with a throttling error.
    ThrottleFirstAttempt,
}

#[derive(Debug, Default)]
struct State {
    fault: Option<Fault>,
    /// How many times a fault was armed: a write admitted before the latest arming belongs to
    /// an earlier run and is neither let through nor counted in this one.
    armed: u64,
    /// Writes AWS accepted, counted as their answers came back.
    accepted: usize,
    /// Writes forwarded whose answers have not come back yet.
    in_flight: usize,
    /// A write the fault may be for is at AWS: no other write starts until it is answered.
    alone: bool,
    /// Writes the fault may be for, waiting for AWS to have no other write; no other write
    /// starts meanwhile.
    waiting: usize,
    /// Set when the network is cut: nothing gets through any more.
    dead: bool,
    /// `(service, operation)` of the write after which the network was cut / the response
    /// lost.
    faulted: Vec<(String, String)>,
    throttled: Vec<(String, String)>,
    invocations: HashSet<String>,
    /// Every request the proxy saw: `(service, operation, mutating)`.
    seen: Vec<(String, String, bool)>,
}

impl State {
    fn fault(&self) -> &Fault {
        self.fault.as_ref().unwrap_or(&Fault::None)
    }

    /// Whether the fault, not fired yet, may be for this write should AWS accept it: by
    /// position, when it could be the k-th accepted whatever the order in which the writes
    /// at AWS are answered; by operation, when it is one.
    fn may_be_target(&self, operation: &str) -> bool {
        if !self.faulted.is_empty() {
            return false;
        }
        match self.fault() {
            Fault::CutAfter(k) | Fault::LoseResponse(k) => self.accepted + self.in_flight + 1 >= *k,
            Fault::CutAfterOperation(op) | Fault::LoseResponseOf(op) => op == operation,
            _ => false,
        }
    }
}

/// Something done once, just before the first write of an operation goes to AWS.
type Hook = (String, Box<dyn FnOnce() + Send>);

/// The proxy's state, and the turn writes wait for to go to AWS.
#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    turn: Condvar,
    before: Mutex<Option<Hook>>,
}

impl Shared {
    fn lock(&self) -> Option<MutexGuard<'_, State>> {
        self.state.lock().ok()
    }
}

pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// Start a proxy forwarding to 127.0.0.1:`upstream`.
    pub fn start(upstream: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("proxy addr").port();
        let shared = Arc::new(Shared::default());
        shared.lock().expect("proxy state").fault = Some(Fault::None);
        let stop = Arc::new(AtomicBool::new(false));
        let (sh, sp) = (shared.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !sp.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let sh = sh.clone();
                        std::thread::spawn(move || {
                            let _ = client.set_nonblocking(false);
                            serve(client, upstream, port, &sh);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        });
        Proxy {
            port,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, for `--endpoint-url`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.lock().expect("proxy state")
    }

    /// Arm a fault; counters and the record start afresh.
    pub fn set_fault(&self, fault: Fault) {
        let mut s = self.state();
        *s = State {
            fault: Some(fault),
            armed: s.armed + 1,
            ..Default::default()
        };
        drop(s);
        self.shared.turn.notify_all();
    }

    /// Run `hook` once, just before the first `operation` write goes to AWS (another
    /// party acting between the tool's plan and its write).
    pub fn before(&self, operation: &str, hook: impl FnOnce() + Send + 'static) {
        if let Ok(mut b) = self.shared.before.lock() {
            *b = Some((operation.to_string(), Box::new(hook)));
        }
    }

    /// Writes AWS accepted since the fault was armed (throttled attempts and writes the
    /// behaviour layer refused not counted).
    pub fn mutating(&self) -> usize {
        self.state().accepted
    }

    /// The write the fault hit, if it fired.
    pub fn faulted(&self) -> Vec<(String, String)> {
        self.state().faulted.clone()
    }

    /// The mutating calls answered with a throttling error.
    pub fn throttled(&self) -> Vec<(String, String)> {
        self.state().throttled.clone()
    }

    /// Every request seen: `(service, operation, mutating)`.
    pub fn seen(&self) -> Vec<(String, String, bool)> {
        self.state().seen.clone()
    }

    /// The operations of the mutating calls seen, each once, sorted.
    pub fn mutating_operations(&self) -> Vec<String> {
        let mut ops: Vec<String> = self
            .seen()
            .into_iter()
            .filter(|(_, _, m)| *m)
            .map(|(_, op, _)| op)
            .collect();
        ops.sort();
        ops.dedup();
        ops
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Whether this is the first attempt of its call: the SDK's `amz-sdk-request: attempt=N`,
/// else the first time its invocation id is seen.
fn first_attempt(req: &Request, state: &mut State) -> bool {
    if let Some(v) = req.header("amz-sdk-request") {
        return v.split(';').any(|p| p.trim() == "attempt=1");
    }
    match req.header("amz-sdk-invocation-id") {
        Some(id) => state.invocations.insert(id.to_string()),
        None => true,
    }
}

/// What to do with a request.
enum Decision {
    /// A read: forward it.
    Read,
    /// A write: forward it; `target` when the fault may be for it (it is at AWS alone);
    /// `armed`, the arming it was let through under.
    Write {
        target: bool,
        armed: u64,
    },
    Throttle,
    Drop,
}

/// What to do with a write's answer.
enum Outcome {
    Answer,
    Lose,
    Cut,
}

/// The decision for a request that just arrived.
fn admit(
    shared: &Shared,
    req: &Request,
    service: &str,
    operation: &str,
    mutating: bool,
) -> Decision {
    let Some(mut s) = shared.lock() else {
        return Decision::Drop;
    };
    s.seen
        .push((service.to_string(), operation.to_string(), mutating));
    if s.dead {
        return Decision::Drop;
    }
    if !mutating {
        return Decision::Read;
    }
    if *s.fault() == Fault::ThrottleFirstAttempt && first_attempt(req, &mut s) {
        s.throttled
            .push((service.to_string(), operation.to_string()));
        return Decision::Throttle;
    }
    wait_turn(shared, s, operation)
}

/// Let a write go to AWS when its turn comes: one the fault may be for once no other write is
/// at AWS (it goes alone), any other at once unless one of those waits or is out.
fn wait_turn(shared: &Shared, mut s: MutexGuard<'_, State>, operation: &str) -> Decision {
    let armed = s.armed;
    let mut queued = false;
    loop {
        if s.armed != armed {
            // Re-armed while it waited: its run is over.
            return Decision::Drop;
        }
        if queued {
            s.waiting -= 1;
            queued = false;
        }
        if s.dead {
            return Decision::Drop;
        }
        let target = s.may_be_target(operation);
        let go = !s.alone
            && if target {
                s.in_flight == 0
            } else {
                s.waiting == 0
            };
        if go {
            s.in_flight += 1;
            s.alone = target;
            return Decision::Write { target, armed };
        }
        if target {
            s.waiting += 1;
            queued = true;
        }
        s = match shared.turn.wait(s) {
            Ok(s) => s,
            Err(_) => return Decision::Drop,
        };
    }
}

/// A write's answer came back: count it if AWS accepted it, and fire the fault if it was for
/// it. A write the fault may be for went alone, so accepted it is the one: the k-th, or the
/// first of its operation.
fn settle(
    shared: &Shared,
    target: bool,
    armed: u64,
    accepted: bool,
    service: &str,
    operation: &str,
) -> Outcome {
    let Some(mut s) = shared.lock() else {
        return Outcome::Cut;
    };
    if s.armed != armed {
        // Re-armed meanwhile: its run is over, and this one does not count it.
        return Outcome::Cut;
    }
    s.in_flight -= 1;
    if target {
        s.alone = false;
    }
    let outcome = if accepted {
        s.accepted += 1;
        if target {
            s.faulted.push((service.to_string(), operation.to_string()));
            match s.fault() {
                Fault::CutAfter(_) | Fault::CutAfterOperation(_) => {
                    // From now on nothing else gets through.
                    s.dead = true;
                    Outcome::Cut
                }
                _ => Outcome::Lose,
            }
        } else {
            Outcome::Answer
        }
    } else {
        Outcome::Answer
    };
    drop(s);
    shared.turn.notify_all();
    outcome
}

fn serve(client: TcpStream, upstream: u16, port: u16, shared: &Shared) {
    let _ = client.set_read_timeout(Some(Duration::from_secs(120)));
    let Ok(read_half) = client.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut client = client;
    loop {
        if shared.lock().is_none_or(|s| s.dead) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        let Some(req) = read_request(&mut reader) else {
            return;
        };
        if !handle(&mut client, &req, upstream, port, shared) {
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
    }
}

/// One request: forwarded, throttled or dropped, the fault applied to its answer. `false`
/// when the connection is to be closed.
fn handle(
    client: &mut TcpStream,
    req: &Request,
    upstream: u16,
    port: u16,
    shared: &Shared,
) -> bool {
    let headers: BTreeMap<String, String> = req
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
        .collect();
    let recorded = RecordedRequest::from_parts(
        &req.method,
        &format!("http://127.0.0.1:{port}{}", req.target),
        headers,
        req.body.clone(),
    );
    let (service, operation, mutating) = classify(&recorded);
    if mutating {
        let hook = shared
            .before
            .lock()
            .ok()
            .and_then(|mut b| b.take_if(|(op, _)| *op == operation).map(|(_, hook)| hook));
        if let Some(hook) = hook {
            hook();
        }
    }
    let head_request = req.method == "HEAD";
    let response = match admit(shared, req, &service, &operation, mutating) {
        Decision::Drop => return false,
        Decision::Throttle => Ok(throttle_response(&service)),
        Decision::Read => forward(req, upstream),
        Decision::Write { target, armed } => {
            let response = forward(req, upstream);
            // Refused by the behaviour layer, the write changed nothing.
            let accepted = response.as_ref().is_ok_and(|(_, h, _)| {
                !h.iter()
                    .any(|(k, _)| k.eq_ignore_ascii_case("x-aws-layer-refused"))
            });
            match settle(shared, target, armed, accepted, &service, &operation) {
                Outcome::Answer => response,
                // The write reached AWS; its answer never comes back.
                Outcome::Lose | Outcome::Cut => return false,
            }
        }
    };
    let Ok((status, h, body)) = response else {
        return false;
    };
    respond(client, &status, &h, &body, head_request).is_ok()
}

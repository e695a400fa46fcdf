//! Bodies generated on the fly (never stored) and checked as they stream past: byte `i` of a
//! body is `i % 251`, so any lost, doubled or reordered byte shows.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};

use http_body_util::BodyExt;
use http_body_util::combinators::BoxBody;
use hyper::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};

/// The pattern's period: a prime, so it never lines up with buffer sizes.
const PERIOD: usize = 251;
/// The shared pattern buffer (frames are slices of it: no copies).
static PATTERN: LazyLock<Bytes> = LazyLock::new(|| (0..PERIOD * 256).map(|i| (i % PERIOD) as u8).collect());

/// The body type test clients send.
pub type TestBody = BoxBody<Bytes, std::io::Error>;

/// `len` bytes of the pattern, produced frame by frame.
pub struct Generated {
    remaining: u64,
    offset: u64,
}

impl Generated {
    /// A body of `len` bytes.
    pub fn new(len: u64) -> Self {
        Self { remaining: len, offset: 0 }
    }

    /// The same, boxed for a client request.
    pub fn boxed(len: u64) -> TestBody {
        BodyExt::boxed(Self::new(len))
    }
}

impl Body for Generated {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let start = (self.offset % PERIOD as u64) as usize;
        let len = (PATTERN.len() - start).min(usize::try_from(self.remaining).unwrap_or(usize::MAX));
        self.remaining -= len as u64;
        self.offset += len as u64;
        Poll::Ready(Some(Ok(Frame::data(PATTERN.slice(start..start + len)))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> SizeHint {
        // Unknown length on purpose: HTTP/1.1 sends it chunked, as docker does with layers.
        SizeHint::default()
    }
}

/// An empty request body.
pub fn empty() -> TestBody {
    BodyExt::boxed(http_body_util::Empty::<Bytes>::new().map_err(|never: Infallible| match never {}))
}

/// Checks a received stream against the pattern, frame by frame.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PatternCheck {
    /// Bytes seen so far.
    pub len: u64,
    /// Whether every byte so far matched.
    pub intact: bool,
}

impl PatternCheck {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self { len: 0, intact: true }
    }

    /// Checks the next piece of the stream.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let start = (self.len % PERIOD as u64) as usize;
            let n = data.len().min(PATTERN.len() - start);
            self.intact &= data[..n] == PATTERN[start..start + n];
            self.len += n as u64;
            data = &data[n..];
        }
    }
}

/// Reads `body` to its end, checking the pattern; `Err` carries what was seen before an error.
pub async fn check_body<B>(mut body: B) -> Result<PatternCheck, PatternCheck>
where
    B: Body<Data = Bytes> + Unpin,
{
    let mut check = PatternCheck::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Some(data) = frame.data_ref() {
                    check.update(data);
                }
            }
            Err(_) => return Err(check),
        }
    }
    Ok(check)
}

/// The process's resident set size, from /proc/self/status.
pub fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

//! Reading one stretch ("window") of a Logto result in traversal order.
//!
//! Logto pages by `page`/`page_size` over `created_at DESC` only. A window
//! is one page, re-expressed in traversal order with each row's position:
//! for `desc` the offset from the newest row, for `asc` the offset from the
//! oldest (which new logs, arriving at the head, never move). Pages are
//! aligned to their size, so to start a window at or before a given row
//! the page size is chosen among 1..=100 to reach furthest past it.

use async_trait::async_trait;
use loggate_core::{LogRecord, Order, SourceError};

use crate::translate::NativeQuery;
use crate::wire::MAX_PAGE_SIZE;

/// Why a scan stopped early, besides an upstream error.
#[derive(Debug)]
pub enum ScanError {
    Source(SourceError),
    /// The server answered outside the requested time window: it ignores
    /// `start_time`/`end_time` (older than v1.40).
    TimeFilterIgnored,
}

impl From<SourceError> for ScanError {
    fn from(e: SourceError) -> Self {
        ScanError::Source(e)
    }
}

/// One upstream page as the server sent it (newest first).
pub struct Page {
    /// Rows that mapped, with their index in the page.
    pub rows: Vec<(u64, LogRecord)>,
    /// Rows in the page, mapped or not.
    pub raw_len: u64,
    /// `Total-Number`.
    pub total: Option<u64>,
    /// From `Link`: whether a `rel="next"` page exists (`None` without
    /// the header).
    pub has_next: Option<bool>,
}

/// Sends one `GET /api/logs`.
#[async_trait]
pub trait PageReader: Send + Sync {
    async fn page(&self, query: &NativeQuery, page: u64, size: u64) -> Result<Page, ScanError>;

    /// While the guard lives, pages are read live, never from the answer
    /// cache ([`loggate_core::CallContext::live_reads`]: a tie-group sweep).
    fn live_reads(&self) -> Option<loggate_core::LiveReads<'_>> {
        None
    }
}

/// A page in traversal order.
pub struct Window {
    /// Mapped rows with their traversal positions, in traversal order.
    pub rows: Vec<(u64, LogRecord)>,
    /// Position of the last row of the window, mapped or not.
    pub last_pos: Option<u64>,
    /// The query's total when the page was served.
    pub total: Option<u64>,
    /// The window begins with the first row of the whole result.
    pub at_start: bool,
    /// The window ends with the last row of the whole result.
    pub at_end: bool,
    pub scanned: u64,
}

/// The page (1-based) and size whose span starts at or before offset `a`
/// and reaches furthest past it.
pub fn page_from(a: u64) -> (u64, u64) {
    let mut best = (1, MAX_PAGE_SIZE, 0);
    for size in (1..=MAX_PAGE_SIZE).rev() {
        let index = a / size;
        let end = (index * size).saturating_add(size);
        if end > best.2 {
            best = (index + 1, size, end);
        }
    }
    (best.0, best.1)
}

/// The page and size whose span contains offset `h` and reaches furthest
/// before it (towards the newest row).
pub fn page_containing(h: u64) -> (u64, u64) {
    let mut best = (h / MAX_PAGE_SIZE + 1, MAX_PAGE_SIZE, h % MAX_PAGE_SIZE);
    for size in (1..=MAX_PAGE_SIZE).rev() {
        if h % size > best.2 {
            best = (h / size + 1, size, h % size);
        }
    }
    (best.0, best.1)
}

/// Reads the window of `query` that starts at the result's first row
/// (`anchor` none) or at or before the row at position `anchor`.
/// `size` is the page size for a window at the start in `desc`; `total`
/// a guess of the result's size (asc needs one; a wrong guess costs a
/// request, never correctness).
pub async fn read_window(
    reader: &dyn PageReader,
    query: &NativeQuery,
    order: Order,
    anchor: Option<u64>,
    size: u64,
    total: Option<u64>,
) -> Result<Window, ScanError> {
    match order {
        Order::Desc => read_desc(reader, query, anchor, size).await,
        Order::Asc => read_asc(reader, query, anchor, size, total).await,
    }
}

async fn read_desc(
    reader: &dyn PageReader,
    query: &NativeQuery,
    anchor: Option<u64>,
    size: u64,
) -> Result<Window, ScanError> {
    let (page, size) = match anchor {
        None => (1, size.clamp(1, MAX_PAGE_SIZE)),
        Some(a) => page_from(a),
    };
    let got = reader.page(query, page, size).await?;
    let start = (page - 1) * size;
    Ok(Window {
        last_pos: got.raw_len.checked_sub(1).map(|i| start + i),
        at_start: start == 0,
        at_end: got.raw_len < size
            || got.total.is_some_and(|t| start + got.raw_len >= t)
            || (got.total.is_none() && got.has_next == Some(false)),
        rows: got.rows.into_iter().map(|(i, r)| (start + i, r)).collect(),
        total: got.total,
        scanned: got.raw_len,
    })
}

async fn read_asc(
    reader: &dyn PageReader,
    query: &NativeQuery,
    anchor: Option<u64>,
    size: u64,
    total: Option<u64>,
) -> Result<Window, ScanError> {
    let mut scanned = 0;
    let mut guess = total.filter(|t| *t > 0);
    for _ in 0..4 {
        let total = match guess {
            Some(total) => total,
            None => {
                // Learn the total; a result that fits one page is done here.
                let size = size.clamp(1, MAX_PAGE_SIZE);
                let got = reader.page(query, 1, size).await?;
                scanned += got.raw_len;
                match got.total {
                    Some(t) if t > got.raw_len => {
                        guess = Some(t);
                        continue;
                    }
                    None if got.raw_len >= size => {
                        return Err(SourceError::Decode(
                            "answer lacks the Total-Number header".into(),
                        )
                        .into())
                    }
                    _ => {
                        let total = got_total(&got);
                        return Ok(reversed(got, 0, total, scanned));
                    }
                }
            }
        };
        let head = |total: u64| match anchor {
            Some(a) if a < total => total - 1 - a,
            _ => total - 1,
        };
        let (page, size) = page_containing(head(total));
        let got = reader.page(query, page, size).await?;
        scanned += got.raw_len;
        let start = (page - 1) * size;
        let served = got.total.unwrap_or(total);
        // New logs (offset mode) or a stale guess (time mode) move the
        // head offsets: accept the page only if it still holds our row.
        if served > 0 && (start..start + got.raw_len).contains(&head(served)) {
            return Ok(reversed(got, start, served, scanned));
        }
        if served == 0 {
            return Ok(reversed(got, start, 0, scanned));
        }
        guess = Some(served);
    }
    Err(SourceError::Decode("Total-Number kept changing between requests".into()).into())
}

fn got_total(page: &Page) -> u64 {
    page.total.unwrap_or(page.raw_len).max(page.raw_len)
}

/// A page starting at head offset `start` of a result of `total` rows,
/// turned oldest first with positions counted from the oldest row.
fn reversed(page: Page, start: u64, total: u64, scanned: u64) -> Window {
    let pos = |head: u64| total.saturating_sub(1).saturating_sub(head);
    let mut rows: Vec<(u64, LogRecord)> = page
        .rows
        .into_iter()
        .map(|(i, r)| (pos(start + i), r))
        .collect();
    rows.reverse();
    Window {
        rows,
        last_pos: (page.raw_len > 0).then(|| pos(start)),
        total: Some(total),
        at_start: start + page.raw_len >= total,
        at_end: start == 0,
        scanned,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers every page with `len` rows and the given headers.
    struct Fixed {
        len: u64,
        total: Option<u64>,
        has_next: Option<bool>,
    }

    #[async_trait]
    impl PageReader for Fixed {
        async fn page(&self, _: &NativeQuery, _: u64, _: u64) -> Result<Page, ScanError> {
            Ok(Page {
                rows: Vec::new(),
                raw_len: self.len,
                total: self.total,
                has_next: self.has_next,
            })
        }
    }

    #[tokio::test]
    async fn the_end_is_read_from_the_total_or_else_from_link() {
        async fn read(reader: Fixed) -> Result<Window, ScanError> {
            read_window(
                &reader,
                &NativeQuery::default(),
                Order::Desc,
                None,
                20,
                None,
            )
            .await
        }
        let full = |total, has_next| Fixed {
            len: 20,
            total,
            has_next,
        };
        assert!(
            read(full(Some(20), Some(true))).await.unwrap().at_end,
            "the total wins"
        );
        assert!(!read(full(Some(21), Some(false))).await.unwrap().at_end);
        assert!(read(full(None, Some(false))).await.unwrap().at_end);
        assert!(!read(full(None, Some(true))).await.unwrap().at_end);
        assert!(!read(full(None, None)).await.unwrap().at_end);
        assert!(
            read(Fixed {
                len: 3,
                total: None,
                has_next: None
            })
            .await
            .unwrap()
            .at_end,
            "a short page"
        );
    }

    #[test]
    fn page_from_starts_at_or_before_and_reaches_far() {
        assert_eq!(page_from(0), (1, 100));
        let (page, size) = page_from(150);
        let start = (page - 1) * size;
        assert!(start <= 150 && start + size > 150 + 40, "{page} {size}");
        for a in [1u64, 99, 100, 101, 151, 997, 12345] {
            let (page, size) = page_from(a);
            let start = (page - 1) * size;
            assert!(start <= a && start + size > a && size <= 100, "{a}");
        }
    }

    #[test]
    fn page_containing_holds_the_row_and_reaches_back() {
        assert_eq!(page_containing(42), (1, 100));
        for h in [0u64, 99, 100, 249, 250, 9999] {
            let (page, size) = page_containing(h);
            let start = (page - 1) * size;
            assert!(start <= h && h < start + size && size <= 100, "{h}");
        }
        let (page, size) = page_containing(249);
        assert!(249 - (page - 1) * size >= 80);
    }
}

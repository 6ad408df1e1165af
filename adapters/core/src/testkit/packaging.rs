//! Spec §10 for every adapter: a body compressed with gzip, deflate or br
//! (asked for or not), with a UTF-8 byte-order mark, under a content type
//! that is not JSON, reads exactly as the plain body does. The request
//! asks for all three encodings.

use super::traverse::{assert_traversal, pinned_query, Traversal};
use super::{Harness, LARGE_BUDGET};
use crate::query::{Filters, Order};
use crate::sim::{Encoding, Packaging};

/// Traverses the data set under each packaging (newest first, 50 a
/// fetch) and asserts the result is the reference; then asserts every
/// request carried `Accept-Encoding` naming gzip, deflate and br.
pub async fn assert_packaging(harness: &dyn Harness) {
    let kind = harness.adapter().kind();
    let faults = harness.faults();
    let mut variants: Vec<(String, Packaging)> = Encoding::ALL
        .into_iter()
        .map(|encoding| {
            let packaging = Packaging {
                encoding: Some(encoding),
                bom: true,
                content_type: Some("text/plain; charset=utf-8"),
            };
            (
                format!("{} + BOM + text/plain", encoding.as_str()),
                packaging,
            )
        })
        .collect();
    variants.push((
        "BOM + application/octet-stream".into(),
        Packaging {
            encoding: None,
            bom: true,
            content_type: Some("application/octet-stream"),
        },
    ));
    for (name, packaging) in variants {
        faults.clear();
        faults.forget_seen();
        faults.set_packaging(packaging);
        let query = pinned_query(Filters::default(), Order::Desc);
        let mut traversal = Traversal::new(&query, 50, LARGE_BUDGET);
        traversal.name = format!("packaging {name}");
        assert_traversal(harness, &traversal).await;
        for request in faults.seen() {
            let accepted = request
                .header("accept-encoding")
                .unwrap_or_default()
                .to_ascii_lowercase();
            for encoding in Encoding::ALL {
                assert!(
                    accepted.contains(encoding.as_str()),
                    "conformance [{kind}] packaging: {} {} did not ask for {} \
                     (Accept-Encoding: {accepted:?})",
                    request.method,
                    request.path,
                    encoding.as_str()
                );
            }
        }
    }
    faults.clear();
}

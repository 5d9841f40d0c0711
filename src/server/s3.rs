//! The read side of the S3 REST API, path-style, over the simulated buckets Firehose writes: ListBuckets,
//! CreateBucket, ListObjectsV2 (prefix, delimiter, continuation tokens, start-after, max-keys, encoding-type),
//! GetObject and HeadObject, with XML bodies as S3 writes them, so `aws s3 ls` and boto3 see what was delivered.

use super::Engine;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kinesim::World;
use kinesim::firehose::s3::{LIST_OBJECTS_KEYS_MAX, S3Error, S3Object};
use kinesim::sim::SimTime;
use kinesim::sim::time::{
    MILLIS_PER_DAY, MILLIS_PER_HOUR, MILLIS_PER_MINUTE, MILLIS_PER_SECOND, civil_from_days,
    format_unix_ms_iso8601,
};

/// The simulated account's canonical user id, as S3 reports owners.
const OWNER_ID: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";
const XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

/// An S3 answer: status, headers, body.
#[derive(Debug)]
pub struct S3Response {
    /// HTTP status.
    pub status: u16,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

/// Percent-decodes URL text (`+` stays `+`, as S3 reads paths).
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(
                std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz"),
                16,
            )
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Percent-encodes as S3 does for `encoding-type=url` (everything but unreserved characters and `/`).
fn url_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// RFC 1123 date, as S3's `Last-Modified` header (and every response's `Date`).
pub fn http_date(unix_ms: u64) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_ms / MILLIS_PER_DAY;
    let in_day = unix_ms % MILLIS_PER_DAY;
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS[usize::try_from(days % 7).unwrap_or(0)];
    let month_name = MONTHS[usize::try_from(month.saturating_sub(1) % 12).unwrap_or(0)];
    format!(
        "{weekday}, {day:02} {month_name} {year} {:02}:{:02}:{:02} GMT",
        in_day / MILLIS_PER_HOUR,
        in_day % MILLIS_PER_HOUR / MILLIS_PER_MINUTE,
        in_day % MILLIS_PER_MINUTE / MILLIS_PER_SECOND
    )
}

fn xml(status: u16, body: String) -> S3Response {
    S3Response {
        status,
        headers: vec![("Content-Type".into(), "application/xml".into())],
        body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}").into_bytes(),
    }
}

fn error(e: S3Error, resource: &str, request_id: &str) -> S3Response {
    let extra = match e {
        S3Error::NoSuchKey => format!("<Key>{}</Key>", xml_escape(resource)),
        _ => format!("<BucketName>{}</BucketName>", xml_escape(resource)),
    };
    xml(
        e.http_status(),
        format!(
            "<Error><Code>{}</Code><Message>{}</Message>{extra}<RequestId>{request_id}</RequestId></Error>",
            e.code(),
            e.message()
        ),
    )
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(&v.replace('+', " ")))
        })
        .collect()
}

/// Answers one S3 request. `url` is the request target (path and query).
pub fn handle(
    world: &mut Engine,
    now: SimTime,
    method: &str,
    url: &str,
    request_id: &str,
) -> S3Response {
    world.advance_to(now);
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let query = query_pairs(query);
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let path = path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) => (percent_decode(b), percent_decode(k)),
        None => (percent_decode(path), String::new()),
    };
    let epoch = world.config().epoch.unix_ms;
    match (method, bucket.is_empty(), key.is_empty()) {
        ("GET", true, _) => list_buckets(world, epoch),
        ("PUT", false, true) => match world.s3_create_bucket(now, &bucket) {
            Ok(()) => S3Response {
                status: 200,
                headers: vec![("Location".into(), format!("/{bucket}"))],
                body: Vec::new(),
            },
            Err(e) => error(e, &bucket, request_id),
        },
        ("HEAD", false, true) => match world.firehose_service().s3().bucket(&bucket) {
            Some(_) => S3Response {
                status: 200,
                headers: vec![("x-amz-bucket-region".into(), "us-east-1".into())],
                body: Vec::new(),
            },
            None => S3Response {
                status: 404,
                headers: Vec::new(),
                body: Vec::new(),
            },
        },
        ("GET", false, true) if get("location").is_some() => {
            xml(200, format!("<LocationConstraint xmlns=\"{XMLNS}\"/>"))
        }
        ("GET", false, true) => list_objects(world, epoch, &bucket, &get, request_id),
        ("GET" | "HEAD", false, false) => {
            match world.firehose_service().s3().get_object(&bucket, &key) {
                Ok(object) => object_response(object, epoch, method == "HEAD"),
                Err(e) if method == "HEAD" => S3Response {
                    status: e.http_status(),
                    headers: Vec::new(),
                    body: Vec::new(),
                },
                Err(S3Error::NoSuchBucket) => error(S3Error::NoSuchBucket, &bucket, request_id),
                Err(e) => error(e, &key, request_id),
            }
        }
        _ => xml(
            405,
            format!(
                "<Error><Code>MethodNotAllowed</Code><Message>The specified method is not allowed against this resource. The simulated S3 serves ListBuckets, CreateBucket, ListObjectsV2, GetObject and HeadObject.</Message><Method>{}</Method><RequestId>{request_id}</RequestId></Error>",
                xml_escape(method)
            ),
        ),
    }
}

fn object_response(object: &S3Object, epoch: u64, head: bool) -> S3Response {
    let _ = head;
    S3Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), object.content_type.clone()),
            ("ETag".into(), object.etag.clone()),
            (
                "Last-Modified".into(),
                http_date(epoch.saturating_add(object.last_modified.as_millis())),
            ),
            ("Accept-Ranges".into(), "bytes".into()),
        ],
        body: object.body.clone(),
    }
}

fn list_buckets(world: &World, epoch: u64) -> S3Response {
    let mut buckets = String::new();
    for (name, created) in world.firehose_service().s3().list_buckets() {
        buckets.push_str(&format!(
            "<Bucket><Name>{}</Name><CreationDate>{}</CreationDate></Bucket>",
            xml_escape(name),
            format_unix_ms_iso8601(epoch.saturating_add(created.as_millis()))
        ));
    }
    xml(
        200,
        format!(
            "<ListAllMyBucketsResult xmlns=\"{XMLNS}\"><Owner><ID>{OWNER_ID}</ID><DisplayName>kinesim</DisplayName></Owner><Buckets>{buckets}</Buckets></ListAllMyBucketsResult>"
        ),
    )
}

fn list_objects<'q>(
    world: &World,
    epoch: u64,
    bucket: &str,
    get: &dyn Fn(&str) -> Option<&'q str>,
    request_id: &str,
) -> S3Response {
    let prefix = get("prefix").unwrap_or("");
    let delimiter = get("delimiter").filter(|d| !d.is_empty());
    let url = get("encoding-type") == Some("url");
    let enc = |s: &str| if url { url_encode(s) } else { xml_escape(s) };
    let max_keys = get("max-keys")
        .and_then(|m| m.parse::<u32>().ok())
        .unwrap_or(LIST_OBJECTS_KEYS_MAX);
    let token = get("continuation-token");
    let token_key = token
        .and_then(|t| URL_SAFE_NO_PAD.decode(t).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if token.is_some() && token_key.is_none() {
        return xml(
            400,
            format!(
                "<Error><Code>InvalidArgument</Code><Message>The continuation token provided is incorrect</Message><ArgumentName>continuation-token</ArgumentName><RequestId>{request_id}</RequestId></Error>"
            ),
        );
    }
    let start_after = get("start-after");
    let from = token_key.as_deref().or(start_after);
    let page = match world
        .firehose_service()
        .s3()
        .list_objects(bucket, prefix, delimiter, from, max_keys)
    {
        Ok(p) => p,
        Err(e) => return error(e, bucket, request_id),
    };
    let mut out = format!(
        "<ListBucketResult xmlns=\"{XMLNS}\"><Name>{}</Name><Prefix>{}</Prefix>",
        xml_escape(bucket),
        enc(prefix)
    );
    if let Some(d) = delimiter {
        out.push_str(&format!("<Delimiter>{}</Delimiter>", enc(d)));
    }
    out.push_str(&format!(
        "<MaxKeys>{}</MaxKeys><KeyCount>{}</KeyCount><IsTruncated>{}</IsTruncated>",
        max_keys.min(LIST_OBJECTS_KEYS_MAX),
        page.key_count,
        page.is_truncated
    ));
    if url {
        out.push_str("<EncodingType>url</EncodingType>");
    }
    if let Some(t) = token {
        out.push_str(&format!(
            "<ContinuationToken>{}</ContinuationToken>",
            xml_escape(t)
        ));
    }
    if let Some(next) = &page.next_start_after {
        out.push_str(&format!(
            "<NextContinuationToken>{}</NextContinuationToken>",
            URL_SAFE_NO_PAD.encode(next)
        ));
    }
    if let Some(s) = start_after {
        out.push_str(&format!("<StartAfter>{}</StartAfter>", enc(s)));
    }
    for (key, object) in &page.contents {
        out.push_str(&format!(
            "<Contents><Key>{}</Key><LastModified>{}</LastModified><ETag>{}</ETag><Size>{}</Size><StorageClass>STANDARD</StorageClass></Contents>",
            enc(key),
            format_unix_ms_iso8601(epoch.saturating_add(object.last_modified.as_millis())),
            xml_escape(&object.etag),
            object.body.len()
        ));
    }
    for common in &page.common_prefixes {
        out.push_str(&format!(
            "<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>",
            enc(common)
        ));
    }
    out.push_str("</ListBucketResult>");
    xml(200, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_encodings_are_as_s3_writes_them() {
        assert_eq!(
            http_date(1_767_225_605_000),
            "Thu, 01 Jan 2026 00:00:05 GMT"
        );
        assert_eq!(url_encode("a=b c/d"), "a%3Db%20c/d");
        assert_eq!(percent_decode("a%3Db%20c"), "a=b c");
        assert_eq!(percent_decode("100%"), "100%");
    }
}

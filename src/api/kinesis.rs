//! The Kinesis Data Streams API (`Kinesis_20131202`): operation name and JSON body in, JSON body or AWS error out.
//!
//! Member names, constraints and error texts follow the service model (`aws-models/kinesis-service-2.json`) with
//! the classic limits (1 MiB records, 5 MiB PutRecords). Each request is read in three steps, as AWS does: types
//! (SerializationException on the first wrong one), then every constraint (one ValidationException listing up to
//! ten failures), then the operation itself.

use super::ApiResponse;
use super::wire::{
    self, Checked, Reader, Rule, Validation, is_hash_key, is_name, is_sequence_number, parse_body,
};
use crate::sim::SimTime;
use crate::streams::hash_key::{
    ExplicitHashKeyError, PARTITION_KEY_LENGTH_MAX_CHARS, explicit_hash_key_out_of_range_message,
    parse_explicit_hash_key,
};
use crate::streams::service::{
    ChildShard, ConsumerRef, ConsumerView, GET_RECORDS_LIMIT_MAX, IteratorRequest, IteratorType,
    ListShardsFrom, PutEntry, Record, ShardFilter, ShardView, StreamMode, StreamView,
    SubscriptionEnd,
};
use crate::streams::throughput::MIB_BYTES;
use crate::streams::{DataStreams, ErrorType, KinesisError};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The `X-Amz-Target` prefix of the Kinesis API.
pub const TARGET_PREFIX: &str = "Kinesis_20131202";
/// Largest record data in bytes (classic limit; the newest model allows up to 10 MiB per stream).
pub const RECORD_DATA_BYTES_MAX: u64 = MIB_BYTES;
/// Most entries in one PutRecords request.
pub const PUT_RECORDS_ENTRIES_MAX: u64 = 500;
/// Most bytes in one PutRecords request, data plus partition keys (classic limit).
pub const PUT_RECORDS_BYTES_MAX: u64 = 5 * MIB_BYTES;
/// Default page size of ListStreams.
pub const LIST_STREAMS_LIMIT_DEFAULT: u32 = 100;
/// Default page size of DescribeStream.
pub const DESCRIBE_STREAM_LIMIT_DEFAULT: u32 = 100;
/// Most shards ListShards returns in one page (AWS: MaxResults up to 10,000, default 1,000).
pub const LIST_SHARDS_MAX_RESULTS_DEFAULT: u32 = 1_000;
/// Default page size of ListTagsForStream.
pub const LIST_TAGS_LIMIT_DEFAULT: u32 = 10;

const NAME_PATTERN: &str = "[a-zA-Z0-9_.-]+";
const HASH_KEY_PATTERN: &str = "0|([1-9]\\d{0,38})";
const SEQUENCE_NUMBER_PATTERN: &str = "0|([1-9]\\d{0,128})";
const STREAM_NAME_RULES: [Rule; 3] = [
    Rule::Pattern(NAME_PATTERN, is_name),
    Rule::LengthMin(1),
    Rule::LengthMax(128),
];
const SHARD_ID_RULES: [Rule; 3] = STREAM_NAME_RULES;
/// In the order AWS lists them in its enum message.
const ITERATOR_TYPES: &[&str] = &[
    "AFTER_SEQUENCE_NUMBER",
    "LATEST",
    "AT_TIMESTAMP",
    "AT_SEQUENCE_NUMBER",
    "TRIM_HORIZON",
];
const STREAM_MODES: &[&str] = &["PROVISIONED", "ON_DEMAND"];
const SHARD_FILTER_TYPES: &[&str] = &[
    "AFTER_SHARD_ID",
    "AT_TRIM_HORIZON",
    "FROM_TRIM_HORIZON",
    "AT_LATEST",
    "AT_TIMESTAMP",
    "FROM_TIMESTAMP",
];

/// The operations this dispatch serves.
pub const OPERATIONS: &[&str] = &[
    "CreateStream",
    "DeleteStream",
    "DescribeStream",
    "DescribeStreamSummary",
    "ListStreams",
    "ListShards",
    "AddTagsToStream",
    "RemoveTagsFromStream",
    "ListTagsForStream",
    "DescribeLimits",
    "IncreaseStreamRetentionPeriod",
    "DecreaseStreamRetentionPeriod",
    "PutRecord",
    "PutRecords",
    "GetShardIterator",
    "GetRecords",
    "SplitShard",
    "MergeShards",
    "UpdateShardCount",
    "RegisterStreamConsumer",
    "DescribeStreamConsumer",
    "ListStreamConsumers",
    "DeregisterStreamConsumer",
    "SubscribeToShard",
    "UpdateStreamMode",
];

/// Runs one Kinesis operation at simulated time `now`.
pub fn dispatch(
    streams: &mut DataStreams,
    now: SimTime,
    epoch_unix_ms: u64,
    operation: &str,
    body: &str,
) -> ApiResponse {
    let ctx = Ctx { now, epoch_unix_ms };
    if !OPERATIONS.contains(&operation) {
        return ApiResponse::error(&KinesisError::new(ErrorType::UnknownOperationException, ""));
    }
    if operation == "SubscribeToShard" {
        return match parse_body(body)
            .and_then(|map| subscribe_to_shard(streams, &ctx, &Reader::new(&map)))
        {
            Ok(id) => ApiResponse {
                subscription: Some(id),
                ..ApiResponse::ok(&json!({}))
            },
            Err(error) => ApiResponse::error(&error),
        };
    }
    let result = parse_body(body).and_then(|map| {
        let r = Reader::new(&map);
        match operation {
            "CreateStream" => create_stream(streams, &ctx, &r),
            "DeleteStream" => delete_stream(streams, &ctx, &r),
            "DescribeStream" => describe_stream(streams, &ctx, &r),
            "DescribeStreamSummary" => describe_stream_summary(streams, &ctx, &r),
            "ListStreams" => list_streams(streams, &ctx, &r),
            "ListShards" => list_shards(streams, &ctx, &r),
            "AddTagsToStream" => add_tags(streams, &ctx, &r),
            "RemoveTagsFromStream" => remove_tags(streams, &ctx, &r),
            "ListTagsForStream" => list_tags(streams, &ctx, &r),
            "DescribeLimits" => describe_limits(streams, &ctx),
            "IncreaseStreamRetentionPeriod" => retention(streams, &ctx, &r, true),
            "DecreaseStreamRetentionPeriod" => retention(streams, &ctx, &r, false),
            "PutRecord" => put_record(streams, &ctx, &r),
            "PutRecords" => put_records(streams, &ctx, &r),
            "GetShardIterator" => get_shard_iterator(streams, &ctx, &r),
            "GetRecords" => get_records(streams, &ctx, &r),
            "SplitShard" => split_shard(streams, &ctx, &r),
            "MergeShards" => merge_shards(streams, &ctx, &r),
            "UpdateShardCount" => update_shard_count(streams, &ctx, &r),
            "RegisterStreamConsumer" => register_stream_consumer(streams, &ctx, &r),
            "DescribeStreamConsumer" => describe_stream_consumer(streams, &ctx, &r),
            "ListStreamConsumers" => list_stream_consumers(streams, &ctx, &r),
            "DeregisterStreamConsumer" => deregister_stream_consumer(streams, &ctx, &r),
            "UpdateStreamMode" => update_stream_mode(streams, &ctx, &r),
            _ => Err(KinesisError::new(ErrorType::UnknownOperationException, "")),
        }
    });
    match result {
        Ok(value) => ApiResponse::ok(&value),
        Err(error) => ApiResponse::error(&error),
    }
}

struct Ctx {
    now: SimTime,
    epoch_unix_ms: u64,
}

impl Ctx {
    /// Epoch seconds (with milliseconds) of a simulated instant, as AWS's JSON timestamps.
    fn timestamp(&self, t: SimTime) -> Value {
        let unix_ms = self.epoch_unix_ms.saturating_add(t.as_millis());
        #[allow(clippy::cast_precision_loss)] // exact below 2^53 ms, i.e. for 285,000 years
        let seconds = unix_ms as f64 / 1_000.0;
        json!(seconds)
    }
}

fn string_value(v: &Option<String>) -> Checked<'_> {
    v.as_deref().map_or(Checked::Null, Checked::Str)
}

fn int_value(v: Option<i64>) -> Checked<'static> {
    v.map_or(Checked::Null, Checked::Int)
}

/// The stream a request names, by StreamName or StreamARN.
struct StreamRef {
    name: Option<String>,
    arn: Option<String>,
}

impl StreamRef {
    fn read(r: &Reader<'_>) -> Result<Self, KinesisError> {
        Ok(StreamRef {
            name: r.string("StreamName")?,
            arn: r.string("StreamARN")?,
        })
    }

    /// Validates the name (required unless an ARN is given) and the ARN.
    fn check(&self, v: &mut Validation) {
        if self.arn.is_none() {
            v.check(
                "streamName",
                string_value(&self.name),
                &[
                    Rule::NotNull,
                    STREAM_NAME_RULES[0],
                    STREAM_NAME_RULES[1],
                    STREAM_NAME_RULES[2],
                ],
            );
        } else {
            v.check("streamName", string_value(&self.name), &STREAM_NAME_RULES);
        }
        v.check(
            "streamARN",
            string_value(&self.arn),
            &[
                Rule::Pattern("arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+", is_stream_arn),
                Rule::LengthMin(1),
                Rule::LengthMax(2048),
            ],
        );
    }

    fn resolve(&self) -> Result<String, KinesisError> {
        match (&self.name, &self.arn) {
            (Some(name), _) => Ok(name.clone()),
            (None, Some(arn)) => stream_from_arn(arn),
            (None, None) => Err(KinesisError::invalid_argument(
                "Either NextToken or StreamName should be provided.",
            )),
        }
    }
}

fn is_stream_arn(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("arn:aws") else {
        return false;
    };
    let Some((_, after)) = rest.split_once(":kinesis:") else {
        return false;
    };
    let Some((head, tail)) = after.rsplit_once(":stream/") else {
        return false;
    };
    let account = head.rsplit(':').next().unwrap_or("");
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    account_ok && !tail.is_empty() && !tail.chars().any(char::is_whitespace)
}

fn create_stream(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let shard_count = r.integer("ShardCount")?;
    let name = r.string("StreamName")?;
    let mode_details = r.structure("StreamModeDetails")?;
    let mode = match &mode_details {
        Some(details) => details.string("StreamMode")?,
        None => None,
    };
    let tags = r.map_of_strings("Tags")?;
    let mut v = Validation::new();
    v.check("shardCount", int_value(shard_count), &[Rule::Min(1)]);
    v.check(
        "streamName",
        string_value(&name),
        &[
            Rule::NotNull,
            STREAM_NAME_RULES[0],
            STREAM_NAME_RULES[1],
            STREAM_NAME_RULES[2],
        ],
    );
    if mode_details.is_some() {
        v.check(
            "streamModeDetails.streamMode",
            string_value(&mode),
            &[Rule::NotNull, Rule::Enum(STREAM_MODES)],
        );
    }
    if let Some(tags) = &tags {
        v.check(
            "tags",
            Checked::Map(tags),
            &[Rule::LengthMin(1), Rule::LengthMax(200)],
        );
    }
    v.finish()?;
    let mode = match mode.as_deref() {
        Some("ON_DEMAND") => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    };
    let name = name.unwrap_or_default();
    let shard_count = shard_count.map(|n| u64::try_from(n).unwrap_or(0));
    s.create_stream(ctx.now, &name, shard_count, mode)?;
    if let Some(tags) = tags {
        let tags: BTreeMap<String, String> = tags.into_iter().collect();
        s.add_tags(ctx.now, &name, &tags)?;
    }
    Ok(Value::Null)
}

fn update_stream_mode(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let stream_arn = r.string("StreamARN")?;
    let details = r.structure("StreamModeDetails")?;
    let mode = match &details {
        Some(d) => d.string("StreamMode")?,
        None => None,
    };
    let mut v = Validation::new();
    v.check(
        "streamARN",
        string_value(&stream_arn),
        &stream_arn_rules(true),
    );
    if details.is_none() {
        v.check("streamModeDetails", Checked::Null, &[Rule::NotNull]);
    } else {
        v.check(
            "streamModeDetails.streamMode",
            string_value(&mode),
            &[Rule::NotNull, Rule::Enum(STREAM_MODES)],
        );
    }
    v.finish()?;
    let mode = match mode.as_deref() {
        Some("ON_DEMAND") => StreamMode::OnDemand,
        _ => StreamMode::Provisioned,
    };
    let name = stream_from_arn(&stream_arn.unwrap_or_default())?;
    s.update_stream_mode(ctx.now, &name, mode)?;
    Ok(Value::Null)
}

fn delete_stream(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let stream = StreamRef::read(r)?;
    let enforce = r.boolean("EnforceConsumerDeletion")?;
    let mut v = Validation::new();
    stream.check(&mut v);
    v.finish()?;
    s.delete_stream(ctx.now, &stream.resolve()?, enforce.unwrap_or(false))?;
    Ok(Value::Null)
}

fn shard_json(sh: &ShardView) -> Value {
    let mut shard = Map::new();
    shard.insert("ShardId".into(), json!(sh.shard_id));
    if let Some(p) = &sh.parent_shard_id {
        shard.insert("ParentShardId".into(), json!(p));
    }
    if let Some(p) = &sh.adjacent_parent_shard_id {
        shard.insert("AdjacentParentShardId".into(), json!(p));
    }
    shard.insert(
        "HashKeyRange".into(),
        json!({
            "StartingHashKey": sh.hash_key_range.starting.to_string(),
            "EndingHashKey": sh.hash_key_range.ending.to_string(),
        }),
    );
    let mut range = Map::new();
    range.insert(
        "StartingSequenceNumber".into(),
        json!(sh.starting_sequence_number),
    );
    if let Some(end) = &sh.ending_sequence_number {
        range.insert("EndingSequenceNumber".into(), json!(end));
    }
    shard.insert("SequenceNumberRange".into(), Value::Object(range));
    Value::Object(shard)
}

fn summary_fields(ctx: &Ctx, view: &StreamView) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("StreamName".into(), json!(view.name));
    m.insert("StreamARN".into(), json!(view.arn));
    m.insert("StreamStatus".into(), json!(view.status.as_str()));
    m.insert(
        "StreamModeDetails".into(),
        json!({"StreamMode": view.mode.as_str()}),
    );
    m.insert("RetentionPeriodHours".into(), json!(view.retention_hours));
    m.insert(
        "StreamCreationTimestamp".into(),
        ctx.timestamp(view.created_at),
    );
    m.insert(
        "EnhancedMonitoring".into(),
        json!([{"ShardLevelMetrics": []}]),
    );
    m.insert("EncryptionType".into(), json!("NONE"));
    m
}

fn describe_stream(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let exclusive_start = r.string("ExclusiveStartShardId")?;
    let limit = r.integer("Limit")?;
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    v.check(
        "limit",
        int_value(limit),
        &[Rule::Min(1), Rule::Max(10_000)],
    );
    v.check(
        "exclusiveStartShardId",
        string_value(&exclusive_start),
        &SHARD_ID_RULES,
    );
    stream.check(&mut v);
    v.finish()?;
    let name = stream.resolve()?;
    let view = s.describe(ctx.now, &name)?;
    let limit = limit.map_or(DESCRIBE_STREAM_LIMIT_DEFAULT, |l| {
        u32::try_from(l).unwrap_or(DESCRIBE_STREAM_LIMIT_DEFAULT)
    });
    let (shards, more) = s.describe_shards(ctx.now, &name, limit, exclusive_start.as_deref())?;
    let mut d = summary_fields(ctx, &view);
    d.insert(
        "Shards".into(),
        Value::Array(shards.iter().map(shard_json).collect()),
    );
    d.insert("HasMoreShards".into(), json!(more));
    Ok(json!({ "StreamDescription": Value::Object(d) }))
}

fn describe_stream_summary(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    stream.check(&mut v);
    v.finish()?;
    let view = s.describe(ctx.now, &stream.resolve()?)?;
    let mut d = summary_fields(ctx, &view);
    d.insert("OpenShardCount".into(), json!(view.open_shard_count));
    d.insert("ConsumerCount".into(), json!(view.consumer_count));
    Ok(json!({ "StreamDescriptionSummary": Value::Object(d) }))
}

fn list_streams(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let exclusive_start = r.string("ExclusiveStartStreamName")?;
    let limit = r.integer("Limit")?;
    let next_token = r.string("NextToken")?;
    let mut v = Validation::new();
    v.check(
        "limit",
        int_value(limit),
        &[Rule::Min(1), Rule::Max(10_000)],
    );
    v.check(
        "exclusiveStartStreamName",
        string_value(&exclusive_start),
        &STREAM_NAME_RULES,
    );
    v.check(
        "nextToken",
        string_value(&next_token),
        &[Rule::LengthMin(1), Rule::LengthMax(1_048_576)],
    );
    v.finish()?;
    // AWS returns at most 100 streams a page whatever the Limit.
    let limit = limit.map_or(LIST_STREAMS_LIMIT_DEFAULT, |l| {
        u32::try_from(l)
            .unwrap_or(LIST_STREAMS_LIMIT_DEFAULT)
            .min(LIST_STREAMS_LIMIT_DEFAULT)
    });
    let start = match next_token.as_deref() {
        Some(token) => Some(open_list_streams_token(token)?),
        None => exclusive_start,
    };
    let (views, more) = s.list_streams(ctx.now, limit, start.as_deref());
    let mut out = Map::new();
    out.insert(
        "StreamNames".into(),
        json!(views.iter().map(|v| v.name.clone()).collect::<Vec<_>>()),
    );
    out.insert("HasMoreStreams".into(), json!(more));
    if more && let Some(last) = views.last() {
        out.insert(
            "NextToken".into(),
            json!(crate::streams::token::encode(last.name.as_bytes())),
        );
    }
    out.insert(
        "StreamSummaries".into(),
        Value::Array(
            views
                .iter()
                .map(|v| {
                    json!({
                        "StreamName": v.name,
                        "StreamARN": v.arn,
                        "StreamStatus": v.status.as_str(),
                        "StreamModeDetails": {"StreamMode": v.mode.as_str()},
                        "StreamCreationTimestamp": ctx.timestamp(v.created_at),
                    })
                })
                .collect(),
        ),
    );
    Ok(Value::Object(out))
}

fn open_list_streams_token(token: &str) -> Result<String, KinesisError> {
    crate::streams::token::decode(token)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|name| is_name(name))
        .ok_or_else(|| KinesisError::invalid_argument(format!("NextToken {token} is invalid.")))
}

fn list_shards(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let exclusive_start = r.string("ExclusiveStartShardId")?;
    let max_results = r.integer("MaxResults")?;
    let next_token = r.string("NextToken")?;
    let stream = StreamRef::read(r)?;
    r.timestamp_unix_ms("StreamCreationTimestamp")?;
    let filter = r.structure("ShardFilter")?;
    let (filter_type, filter_shard, filter_time) = type_point_and_time(filter.as_ref(), "ShardId")?;
    let mut v = Validation::new();
    v.check(
        "maxResults",
        int_value(max_results),
        &[Rule::Min(1), Rule::Max(10_000)],
    );
    v.check(
        "exclusiveStartShardId",
        string_value(&exclusive_start),
        &SHARD_ID_RULES,
    );
    v.check(
        "nextToken",
        string_value(&next_token),
        &[Rule::LengthMin(1), Rule::LengthMax(1_048_576)],
    );
    v.check("streamName", string_value(&stream.name), &STREAM_NAME_RULES);
    if filter.is_some() {
        v.check(
            "shardFilter.type",
            string_value(&filter_type),
            &[Rule::NotNull, Rule::Enum(SHARD_FILTER_TYPES)],
        );
        v.check(
            "shardFilter.shardId",
            string_value(&filter_shard),
            &SHARD_ID_RULES,
        );
    }
    v.finish()?;
    let max_results = max_results.map_or(LIST_SHARDS_MAX_RESULTS_DEFAULT, |m| {
        u32::try_from(m).unwrap_or(LIST_SHARDS_MAX_RESULTS_DEFAULT)
    });
    let filter = match filter_type.as_deref() {
        None => None,
        Some("AFTER_SHARD_ID") => Some(ShardFilter::AfterShardId(filter_shard.ok_or_else(
            || {
                KinesisError::invalid_argument(
                    "ShardId must be provided for the AFTER_SHARD_ID ShardFilter type.",
                )
            },
        )?)),
        Some("AT_TRIM_HORIZON") => Some(ShardFilter::AtTrimHorizon),
        Some("FROM_TRIM_HORIZON") => Some(ShardFilter::FromTrimHorizon),
        Some("AT_LATEST") => Some(ShardFilter::AtLatest),
        Some(kind) => {
            let t = filter_time.ok_or_else(|| {
                KinesisError::invalid_argument(format!(
                    "Timestamp must be provided for the {kind} ShardFilter type."
                ))
            })?;
            let t = u64::try_from(t).unwrap_or(0);
            Some(if kind == "AT_TIMESTAMP" {
                ShardFilter::AtTimestamp(t)
            } else {
                ShardFilter::FromTimestamp(t)
            })
        }
    };
    let from = match (&next_token, stream.name.is_some() || stream.arn.is_some()) {
        (Some(_), true) => {
            return Err(KinesisError::invalid_argument(
                "NextToken and StreamName cannot be provided together.",
            ));
        }
        (Some(token), false) => ListShardsFrom::Token(token),
        (None, _) => {
            let name = stream.resolve()?;
            return page(
                s,
                ctx,
                ListShardsFrom::Stream {
                    name: &name,
                    exclusive_start_shard_id: exclusive_start.as_deref(),
                },
                max_results,
                filter,
            );
        }
    };
    page(s, ctx, from, max_results, filter)
}

fn page(
    s: &mut DataStreams,
    ctx: &Ctx,
    from: ListShardsFrom<'_>,
    max_results: u32,
    filter: Option<ShardFilter>,
) -> Result<Value, KinesisError> {
    let page = s.list_shards(ctx.now, from, max_results, filter)?;
    let mut out = Map::new();
    out.insert(
        "Shards".into(),
        Value::Array(page.shards.iter().map(shard_json).collect()),
    );
    if let Some(token) = page.next_token {
        out.insert("NextToken".into(), json!(token));
    }
    Ok(Value::Object(out))
}

fn check_tag_key(v: &mut Validation, path: &str, key: &str) {
    v.check(
        path,
        Checked::Str(key),
        &[Rule::LengthMin(1), Rule::LengthMax(128)],
    );
}

fn add_tags(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let stream = StreamRef::read(r)?;
    let tags = r.map_of_strings("Tags")?;
    let mut v = Validation::new();
    match &tags {
        None => v.check("tags", Checked::Null, &[Rule::NotNull]),
        Some(tags) => {
            v.check(
                "tags",
                Checked::Map(tags),
                &[Rule::LengthMin(1), Rule::LengthMax(200)],
            );
            for (key, value) in tags {
                check_tag_key(&mut v, &format!("tags.{key}.member.key"), key);
                v.check(
                    &format!("tags.{key}.member.value"),
                    Checked::Str(value),
                    &[Rule::LengthMax(256)],
                );
            }
        }
    }
    stream.check(&mut v);
    v.finish()?;
    let tags: BTreeMap<String, String> = tags.unwrap_or_default().into_iter().collect();
    s.add_tags(ctx.now, &stream.resolve()?, &tags)?;
    Ok(Value::Null)
}

fn remove_tags(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let stream = StreamRef::read(r)?;
    let keys = r.list_of_strings("TagKeys")?;
    let mut v = Validation::new();
    match &keys {
        None => v.check("tagKeys", Checked::Null, &[Rule::NotNull]),
        Some(keys) => {
            v.check(
                "tagKeys",
                Checked::Strings(keys),
                &[Rule::LengthMin(1), Rule::LengthMax(50)],
            );
            for (i, key) in keys.iter().enumerate() {
                check_tag_key(&mut v, &format!("tagKeys.{}.member", i + 1), key);
            }
        }
    }
    stream.check(&mut v);
    v.finish()?;
    s.remove_tags(ctx.now, &stream.resolve()?, &keys.unwrap_or_default())?;
    Ok(Value::Null)
}

fn list_tags(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let exclusive_start = r.string("ExclusiveStartTagKey")?;
    let limit = r.integer("Limit")?;
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    v.check("limit", int_value(limit), &[Rule::Min(1), Rule::Max(50)]);
    v.check(
        "exclusiveStartTagKey",
        string_value(&exclusive_start),
        &[Rule::LengthMin(1), Rule::LengthMax(128)],
    );
    stream.check(&mut v);
    v.finish()?;
    let limit = limit.map_or(LIST_TAGS_LIMIT_DEFAULT, |l| {
        u32::try_from(l).unwrap_or(LIST_TAGS_LIMIT_DEFAULT)
    });
    let (tags, more) = s.list_tags(
        ctx.now,
        &stream.resolve()?,
        exclusive_start.as_deref(),
        limit,
    )?;
    Ok(json!({
        "Tags": tags.iter().map(|(k, v)| json!({"Key": k, "Value": v})).collect::<Vec<_>>(),
        "HasMoreTags": more,
    }))
}

fn describe_limits(s: &mut DataStreams, ctx: &Ctx) -> Result<Value, KinesisError> {
    let (open, on_demand) = s.limits(ctx.now);
    Ok(json!({
        "ShardLimit": s.config().account_shard_limit,
        "OpenShardCount": open,
        "OnDemandStreamCount": on_demand,
        "OnDemandStreamCountLimit": s.config().on_demand_stream_count_limit,
    }))
}

fn retention(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
    increase: bool,
) -> Result<Value, KinesisError> {
    let hours = r.integer("RetentionPeriodHours")?;
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    v.check("retentionPeriodHours", int_value(hours), &[Rule::NotNull]);
    stream.check(&mut v);
    v.finish()?;
    s.set_retention(ctx.now, &stream.resolve()?, hours.unwrap_or(0), increase)?;
    Ok(Value::Null)
}

fn explicit_hash_key(text: Option<&str>) -> Result<Option<u128>, KinesisError> {
    match text.map(parse_explicit_hash_key) {
        None => Ok(None),
        Some(Ok(key)) => Ok(Some(key)),
        // The pattern was checked by validation already; only the range remains.
        Some(Err(ExplicitHashKeyError::OutOfRange | ExplicitHashKeyError::Pattern)) => {
            Err(KinesisError::invalid_argument(
                explicit_hash_key_out_of_range_message(text.unwrap_or("")),
            ))
        }
    }
}

fn put_record(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let data = r.blob("Data")?;
    let explicit = r.string("ExplicitHashKey")?;
    let key = r.string("PartitionKey")?;
    let ordering = r.string("SequenceNumberForOrdering")?;
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    v.check(
        "sequenceNumberForOrdering",
        string_value(&ordering),
        &[Rule::Pattern(SEQUENCE_NUMBER_PATTERN, is_sequence_number)],
    );
    v.check(
        "partitionKey",
        string_value(&key),
        &[
            Rule::NotNull,
            Rule::LengthMin(1),
            Rule::LengthMax(u64::from(PARTITION_KEY_LENGTH_MAX_CHARS)),
        ],
    );
    v.check(
        "explicitHashKey",
        string_value(&explicit),
        &[Rule::Pattern(HASH_KEY_PATTERN, is_hash_key)],
    );
    v.check(
        "data",
        data.as_ref()
            .map_or(Checked::Null, |d| Checked::Blob(d.len() as u64)),
        &[Rule::NotNull, Rule::LengthMax(RECORD_DATA_BYTES_MAX)],
    );
    stream.check(&mut v);
    v.finish()?;
    let name = stream.resolve()?;
    let entry = PutEntry {
        data: data.unwrap_or_default(),
        partition_key: key.unwrap_or_default(),
        explicit_hash_key: explicit_hash_key(explicit.as_deref())?,
    };
    let put = s.put_record(ctx.now, &name, entry, ordering.as_deref())?;
    Ok(json!({"ShardId": put.shard_id(), "SequenceNumber": put.sequence_number.to_string()}))
}

fn put_records(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let items = r.list_of_structures("Records")?;
    // A request over the entry limit fails validation whatever its entries hold, and at most ten failures are
    // reported: decode only as many entries as can matter, so a huge request costs no more than a small one.
    let decoded_max = match &items {
        Some(list) if list.len() as u64 > PUT_RECORDS_ENTRIES_MAX => wire::VALIDATION_ERRORS_MAX,
        _ => usize::MAX,
    };
    let mut entries = Vec::new();
    for item in items.iter().flatten().take(decoded_max) {
        let e = Reader::new(item);
        entries.push((
            e.blob("Data")?,
            e.string("ExplicitHashKey")?,
            e.string("PartitionKey")?,
        ));
    }
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    match &items {
        None => v.check("records", Checked::Null, &[Rule::NotNull]),
        Some(list) => {
            v.check(
                "records",
                Checked::Items(list.len() as u64),
                &[Rule::LengthMin(1), Rule::LengthMax(PUT_RECORDS_ENTRIES_MAX)],
            );
        }
    }
    for (i, (data, explicit, key)) in entries.iter().enumerate() {
        let at = |member: &str| format!("records.{}.member.{member}", i + 1);
        v.check(
            &at("partitionKey"),
            string_value(key),
            &[
                Rule::NotNull,
                Rule::LengthMin(1),
                Rule::LengthMax(u64::from(PARTITION_KEY_LENGTH_MAX_CHARS)),
            ],
        );
        v.check(
            &at("explicitHashKey"),
            string_value(explicit),
            &[Rule::Pattern(HASH_KEY_PATTERN, is_hash_key)],
        );
        v.check(
            &at("data"),
            data.as_ref()
                .map_or(Checked::Null, |d| Checked::Blob(d.len() as u64)),
            &[Rule::NotNull, Rule::LengthMax(RECORD_DATA_BYTES_MAX)],
        );
    }
    stream.check(&mut v);
    v.finish()?;
    let name = stream.resolve()?;
    let total: u64 = entries
        .iter()
        .map(|(d, _, k)| {
            d.as_ref().map_or(0, |d| d.len() as u64) + k.as_ref().map_or(0, |k| k.len() as u64)
        })
        .sum();
    if total > PUT_RECORDS_BYTES_MAX {
        return Err(KinesisError::invalid_argument(format!(
            "Records size exceeds {} MB limit",
            PUT_RECORDS_BYTES_MAX / MIB_BYTES
        )));
    }
    let mut put_entries = Vec::with_capacity(entries.len());
    for (data, explicit, key) in entries {
        put_entries.push(PutEntry {
            data: data.unwrap_or_default(),
            partition_key: key.unwrap_or_default(),
            explicit_hash_key: explicit_hash_key(explicit.as_deref())?,
        });
    }
    let results = s.put_records(ctx.now, &name, put_entries)?;
    let failed = results.iter().filter(|r| r.is_err()).count();
    let records: Vec<Value> = results
        .into_iter()
        .map(|r| match r {
            Ok(put) => json!({"SequenceNumber": put.sequence_number.to_string(), "ShardId": put.shard_id()}),
            Err(e) => json!({"ErrorCode": e.error_type.as_str(), "ErrorMessage": e.message}),
        })
        .collect();
    Ok(json!({"FailedRecordCount": failed, "Records": records}))
}

fn get_shard_iterator(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let shard_id = r.string("ShardId")?;
    let kind = r.string("ShardIteratorType")?;
    let starting = r.string("StartingSequenceNumber")?;
    let stream = StreamRef::read(r)?;
    let timestamp = r.timestamp_unix_ms("Timestamp")?;
    let mut v = Validation::new();
    v.check(
        "shardId",
        string_value(&shard_id),
        &[
            Rule::NotNull,
            SHARD_ID_RULES[0],
            SHARD_ID_RULES[1],
            SHARD_ID_RULES[2],
        ],
    );
    v.check(
        "shardIteratorType",
        string_value(&kind),
        &[Rule::NotNull, Rule::Enum(ITERATOR_TYPES)],
    );
    v.check(
        "startingSequenceNumber",
        string_value(&starting),
        &[Rule::Pattern(SEQUENCE_NUMBER_PATTERN, is_sequence_number)],
    );
    stream.check(&mut v);
    v.finish()?;
    let name = stream.resolve()?;
    let shard_id = shard_id.unwrap_or_default();
    let iterator_type = iterator_type(kind.as_deref());
    let needs_sequence = matches!(
        iterator_type,
        IteratorType::AtSequenceNumber | IteratorType::AfterSequenceNumber
    );
    if needs_sequence && starting.is_none() {
        return Err(KinesisError::invalid_argument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or \
             (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {} and no \
             StartingSequenceNumber.",
            kind.as_deref().unwrap_or("")
        )));
    }
    if !needs_sequence && starting.is_some() && iterator_type != IteratorType::AtTimestamp {
        return Err(KinesisError::invalid_argument(format!(
            "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or \
             (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified {} and also a \
             StartingSequenceNumber.",
            kind.as_deref().unwrap_or("")
        )));
    }
    if iterator_type == IteratorType::AtTimestamp && timestamp.is_none() {
        return Err(KinesisError::invalid_argument(
            "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has \
             no timestamp parameter.",
        ));
    }
    if let Some(t) = timestamp
        && iterator_type == IteratorType::AtTimestamp
    {
        let now_unix_ms = ctx.epoch_unix_ms.saturating_add(ctx.now.as_millis());
        if t > i64::try_from(now_unix_ms).unwrap_or(i64::MAX) {
            return Err(KinesisError::invalid_argument(format!(
                "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. \
                 timestampInMillis: {t}, currentTimestampInMillis: {now_unix_ms}"
            )));
        }
    }
    let iterator = s.get_shard_iterator(
        ctx.now,
        &name,
        IteratorRequest {
            shard_id: &shard_id,
            iterator_type,
            starting_sequence_number: starting.as_deref(),
            timestamp_unix_ms: timestamp.map(|t| u64::try_from(t).unwrap_or(0)),
        },
    )?;
    Ok(json!({ "ShardIterator": iterator }))
}

/// `Type`, a position member (`ShardId`, `SequenceNumber`) and `Timestamp` of a ShardFilter or StartingPosition.
type TypePointTime = (Option<String>, Option<String>, Option<i64>);

fn type_point_and_time(
    structure: Option<&Reader<'_>>,
    point: &str,
) -> Result<TypePointTime, KinesisError> {
    Ok(match structure {
        Some(r) => (
            r.string("Type")?,
            r.string(point)?,
            r.timestamp_unix_ms("Timestamp")?,
        ),
        None => (None, None, None),
    })
}

/// The iterator type a validated `ShardIteratorType` / `StartingPosition.Type` names.
fn iterator_type(kind: Option<&str>) -> IteratorType {
    match kind {
        Some("AT_SEQUENCE_NUMBER") => IteratorType::AtSequenceNumber,
        Some("AFTER_SEQUENCE_NUMBER") => IteratorType::AfterSequenceNumber,
        Some("TRIM_HORIZON") => IteratorType::TrimHorizon,
        Some("LATEST") => IteratorType::Latest,
        _ => IteratorType::AtTimestamp,
    }
}

fn get_records(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let limit = r.integer("Limit")?;
    let iterator = r.string("ShardIterator")?;
    let mut v = Validation::new();
    v.check(
        "limit",
        int_value(limit),
        &[Rule::Min(1), Rule::Max(i64::from(GET_RECORDS_LIMIT_MAX))],
    );
    v.check(
        "shardIterator",
        string_value(&iterator),
        &[Rule::NotNull, Rule::LengthMin(1), Rule::LengthMax(512)],
    );
    v.finish()?;
    let limit = limit.map_or(GET_RECORDS_LIMIT_MAX, |l| {
        u32::try_from(l).unwrap_or(GET_RECORDS_LIMIT_MAX)
    });
    let got = s.get_records(ctx.now, &iterator.unwrap_or_default(), limit)?;
    let mut out = Map::new();
    out.insert("Records".into(), records_json(ctx, &got.records));
    // At the end of a closed shard AWS leaves NextShardIterator out (and names the ChildShards instead).
    if let Some(next) = got.next_shard_iterator {
        out.insert("NextShardIterator".into(), Value::String(next));
    }
    out.insert("MillisBehindLatest".into(), json!(got.millis_behind_latest));
    if !got.child_shards.is_empty() {
        out.insert("ChildShards".into(), child_shards_json(&got.child_shards));
    }
    Ok(Value::Object(out))
}

/// Records as GetRecords and SubscribeToShardEvent show them.
fn records_json(ctx: &Ctx, records: &[(String, Record)]) -> Value {
    Value::Array(
        records
            .iter()
            .map(|(seq, rec)| {
                json!({
                    "SequenceNumber": seq,
                    "ApproximateArrivalTimestamp": ctx.timestamp(rec.arrival),
                    "Data": crate::streams::token::encode(&rec.data),
                    "PartitionKey": rec.partition_key,
                })
            })
            .collect(),
    )
}

fn child_shards_json(children: &[ChildShard]) -> Value {
    Value::Array(
        children
            .iter()
            .map(|c| {
                json!({
                    "ShardId": c.shard_id,
                    "ParentShards": c.parent_shards,
                    "HashKeyRange": {
                        "StartingHashKey": c.hash_key_range.starting.to_string(),
                        "EndingHashKey": c.hash_key_range.ending.to_string(),
                    },
                })
            })
            .collect(),
    )
}

/// SubscribeToShard: validates the request and starts the subscription; its events are polled separately.
fn subscribe_to_shard(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<u64, KinesisError> {
    let consumer_arn = r.string("ConsumerARN")?;
    let shard_id = r.string("ShardId")?;
    let position = r.structure("StartingPosition")?;
    let (kind, sequence, timestamp) = type_point_and_time(position.as_ref(), "SequenceNumber")?;
    let mut v = Validation::new();
    v.check(
        "consumerARN",
        string_value(&consumer_arn),
        &[
            Rule::NotNull,
            Rule::Pattern(CONSUMER_ARN_PATTERN, is_consumer_arn),
            Rule::LengthMin(1),
            Rule::LengthMax(2048),
        ],
    );
    v.check(
        "shardId",
        string_value(&shard_id),
        &[
            Rule::NotNull,
            SHARD_ID_RULES[0],
            SHARD_ID_RULES[1],
            SHARD_ID_RULES[2],
        ],
    );
    if position.is_none() {
        v.check("startingPosition", Checked::Null, &[Rule::NotNull]);
    } else {
        v.check(
            "startingPosition.type",
            string_value(&kind),
            &[Rule::NotNull, Rule::Enum(ITERATOR_TYPES)],
        );
        v.check(
            "startingPosition.sequenceNumber",
            string_value(&sequence),
            &[Rule::Pattern(SEQUENCE_NUMBER_PATTERN, is_sequence_number)],
        );
    }
    v.finish()?;
    let iterator_type = iterator_type(kind.as_deref());
    let needs_sequence = matches!(
        iterator_type,
        IteratorType::AtSequenceNumber | IteratorType::AfterSequenceNumber
    );
    if needs_sequence && sequence.is_none() {
        return Err(KinesisError::invalid_argument(format!(
            "StartingPosition of type {} needs a SequenceNumber.",
            kind.as_deref().unwrap_or("")
        )));
    }
    if iterator_type == IteratorType::AtTimestamp && timestamp.is_none() {
        return Err(KinesisError::invalid_argument(
            "StartingPosition of type AT_TIMESTAMP needs a Timestamp.",
        ));
    }
    let shard_id = shard_id.unwrap_or_default();
    s.subscribe_to_shard(
        ctx.now,
        &consumer_arn.unwrap_or_default(),
        IteratorRequest {
            shard_id: &shard_id,
            iterator_type,
            starting_sequence_number: sequence.as_deref(),
            timestamp_unix_ms: timestamp.map(|t| u64::try_from(t).unwrap_or(0)),
        },
    )
}

/// What a subscription pushed since it was last polled, as AWS's event stream carries it: each event is
/// `{"SubscribeToShardEvent": {Records, ContinuationSequenceNumber, MillisBehindLatest, ChildShards?}}` with the
/// simulated time it was pushed; `ended` says when and why the stream closed (after its last event).
#[derive(Clone, Debug, PartialEq)]
pub struct SubscriptionEvents {
    /// (push time, event JSON), in order.
    pub events: Vec<(SimTime, Value)>,
    /// When and why the subscription ended, once it has.
    pub ended: Option<(SimTime, SubscriptionEnd)>,
}

/// Polls a subscription started by SubscribeToShard and renders its events in AWS's JSON shape.
pub fn poll_subscription(
    streams: &mut DataStreams,
    now: SimTime,
    epoch_unix_ms: u64,
    subscription: u64,
) -> Result<SubscriptionEvents, KinesisError> {
    let ctx = Ctx { now, epoch_unix_ms };
    let poll = streams.poll_subscription(now, subscription)?;
    let events = poll
        .events
        .iter()
        .map(|(at, e)| {
            let mut out = Map::new();
            out.insert("Records".into(), records_json(&ctx, &e.records));
            if let Some(c) = &e.continuation_sequence_number {
                out.insert(
                    "ContinuationSequenceNumber".into(),
                    Value::String(c.clone()),
                );
            }
            out.insert("MillisBehindLatest".into(), json!(e.millis_behind_latest));
            if !e.child_shards.is_empty() {
                out.insert("ChildShards".into(), child_shards_json(&e.child_shards));
            }
            (*at, json!({ "SubscribeToShardEvent": Value::Object(out) }))
        })
        .collect();
    Ok(SubscriptionEvents {
        events,
        ended: poll.ended,
    })
}

fn split_shard(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let new_start = r.string("NewStartingHashKey")?;
    let shard = r.string("ShardToSplit")?;
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    v.check(
        "newStartingHashKey",
        string_value(&new_start),
        &[Rule::NotNull, Rule::Pattern(HASH_KEY_PATTERN, is_hash_key)],
    );
    stream.check(&mut v);
    v.check(
        "shardToSplit",
        string_value(&shard),
        &[
            Rule::NotNull,
            SHARD_ID_RULES[0],
            SHARD_ID_RULES[1],
            SHARD_ID_RULES[2],
        ],
    );
    v.finish()?;
    s.split_shard(
        ctx.now,
        &stream.resolve()?,
        &shard.unwrap_or_default(),
        &new_start.unwrap_or_default(),
    )?;
    Ok(Value::Null)
}

fn merge_shards(s: &mut DataStreams, ctx: &Ctx, r: &Reader<'_>) -> Result<Value, KinesisError> {
    let adjacent = r.string("AdjacentShardToMerge")?;
    let shard = r.string("ShardToMerge")?;
    let stream = StreamRef::read(r)?;
    let mut v = Validation::new();
    for (path, value) in [
        ("shardToMerge", &shard),
        ("adjacentShardToMerge", &adjacent),
    ] {
        v.check(
            path,
            string_value(value),
            &[
                Rule::NotNull,
                SHARD_ID_RULES[0],
                SHARD_ID_RULES[1],
                SHARD_ID_RULES[2],
            ],
        );
    }
    stream.check(&mut v);
    v.finish()?;
    s.merge_shards(
        ctx.now,
        &stream.resolve()?,
        &shard.unwrap_or_default(),
        &adjacent.unwrap_or_default(),
    )?;
    Ok(Value::Null)
}

fn update_shard_count(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let scaling = r.string("ScalingType")?;
    let stream = StreamRef::read(r)?;
    let target = r.integer("TargetShardCount")?;
    let mut v = Validation::new();
    v.check(
        "scalingType",
        string_value(&scaling),
        &[Rule::NotNull, Rule::Enum(&["UNIFORM_SCALING"])],
    );
    stream.check(&mut v);
    v.check(
        "targetShardCount",
        int_value(target),
        &[Rule::NotNull, Rule::Min(1)],
    );
    v.finish()?;
    let target = u64::try_from(target.unwrap_or(1)).unwrap_or(1);
    let update = s.update_shard_count(ctx.now, &stream.resolve()?, target)?;
    Ok(json!({
        "StreamName": update.stream_name,
        "CurrentShardCount": update.current_shard_count,
        "TargetShardCount": update.target_shard_count,
        "StreamARN": update.stream_arn,
    }))
}

const CONSUMER_ARN_PATTERN: &str = "^(arn):aws.*:kinesis:.*:\\d{12}:.*stream\\/[a-zA-Z0-9_.-]+\\/consumer\\/[a-zA-Z0-9_.-]+:[0-9]+";
const STREAM_ARN_PATTERN: &str = "arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+";

/// The model's consumer ARN pattern: `arn:aws...:kinesis:...:<12 digits>:...stream/<name>/consumer/<name>:<digits>`.
fn is_consumer_arn(s: &str) -> bool {
    let Some((head, seconds)) = s.rsplit_once(':') else {
        return false;
    };
    if seconds.is_empty() || !seconds.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let Some((stream_part, consumer)) = head.rsplit_once("/consumer/") else {
        return false;
    };
    let Some((prefix, stream)) = stream_part.rsplit_once("stream/") else {
        return false;
    };
    is_name(consumer) && is_name(stream) && is_stream_arn(&format!("{prefix}stream/x"))
}

fn stream_arn_rules(required: bool) -> Vec<Rule> {
    let mut rules = vec![
        Rule::Pattern(STREAM_ARN_PATTERN, is_stream_arn),
        Rule::LengthMin(1),
        Rule::LengthMax(2048),
    ];
    if required {
        rules.insert(0, Rule::NotNull);
    }
    rules
}

fn stream_from_arn(arn: &str) -> Result<String, KinesisError> {
    arn.split_once(":stream/")
        .map(|(_, name)| name.split('/').next().unwrap_or(name).to_string())
        .ok_or_else(|| KinesisError::invalid_argument(format!("Invalid StreamARN {arn}.")))
}

fn consumer_json(ctx: &Ctx, c: &ConsumerView, with_stream: bool) -> Value {
    let mut out = Map::new();
    out.insert("ConsumerName".into(), json!(c.name));
    out.insert("ConsumerARN".into(), json!(c.arn));
    out.insert("ConsumerStatus".into(), json!(c.status.as_str()));
    out.insert(
        "ConsumerCreationTimestamp".into(),
        ctx.timestamp(c.created_at),
    );
    if with_stream {
        out.insert("StreamARN".into(), json!(c.stream_arn));
    }
    Value::Object(out)
}

/// How a Describe/Deregister request names its consumer: StreamARN, ConsumerName, ConsumerARN.
struct ConsumerMembers {
    stream_arn: Option<String>,
    name: Option<String>,
    consumer_arn: Option<String>,
}

/// Reads how a Describe/Deregister request names its consumer and checks the members.
fn consumer_ref_members(r: &Reader<'_>) -> Result<ConsumerMembers, KinesisError> {
    let stream_arn = r.string("StreamARN")?;
    let name = r.string("ConsumerName")?;
    let consumer_arn = r.string("ConsumerARN")?;
    let mut v = Validation::new();
    v.check(
        "streamARN",
        string_value(&stream_arn),
        &stream_arn_rules(false),
    );
    v.check("consumerName", string_value(&name), &STREAM_NAME_RULES);
    v.check(
        "consumerARN",
        string_value(&consumer_arn),
        &[
            Rule::Pattern(CONSUMER_ARN_PATTERN, is_consumer_arn),
            Rule::LengthMin(1),
            Rule::LengthMax(2048),
        ],
    );
    v.finish()?;
    Ok(ConsumerMembers {
        stream_arn,
        name,
        consumer_arn,
    })
}

fn with_consumer_ref<T>(
    members: &ConsumerMembers,
    f: impl FnOnce(ConsumerRef<'_>) -> Result<T, KinesisError>,
) -> Result<T, KinesisError> {
    match (&members.stream_arn, &members.name, &members.consumer_arn) {
        (None, None, Some(arn)) => f(ConsumerRef::ByArn(arn)),
        (Some(stream_arn), Some(name), None) => {
            let stream = stream_from_arn(stream_arn)?;
            f(ConsumerRef::ByName {
                stream: &stream,
                name,
            })
        }
        // All three given: the ARN names the consumer; the other two must agree with it.
        (Some(stream_arn), Some(name), Some(arn))
            if arn.starts_with(&format!("{stream_arn}/consumer/{name}:")) =>
        {
            f(ConsumerRef::ByArn(arn))
        }
        _ => Err(KinesisError::invalid_argument(
            "Either ConsumerARN or both ConsumerName and StreamARN must be provided.",
        )),
    }
}

fn register_stream_consumer(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let stream_arn = r.string("StreamARN")?;
    let name = r.string("ConsumerName")?;
    let tags = r.map_of_strings("Tags")?;
    let mut v = Validation::new();
    v.check(
        "streamARN",
        string_value(&stream_arn),
        &stream_arn_rules(true),
    );
    v.check(
        "consumerName",
        string_value(&name),
        &[
            Rule::NotNull,
            STREAM_NAME_RULES[0],
            STREAM_NAME_RULES[1],
            STREAM_NAME_RULES[2],
        ],
    );
    if let Some(tags) = &tags {
        v.check(
            "tags",
            Checked::Map(tags),
            &[Rule::LengthMin(1), Rule::LengthMax(200)],
        );
    }
    v.finish()?;
    let stream = stream_from_arn(&stream_arn.unwrap_or_default())?;
    let consumer = s.register_stream_consumer(ctx.now, &stream, &name.unwrap_or_default())?;
    Ok(json!({ "Consumer": consumer_json(ctx, &consumer, false) }))
}

fn describe_stream_consumer(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let members = consumer_ref_members(r)?;
    let consumer = with_consumer_ref(&members, |which| s.describe_stream_consumer(ctx.now, which))?;
    Ok(json!({ "ConsumerDescription": consumer_json(ctx, &consumer, true) }))
}

fn deregister_stream_consumer(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let members = consumer_ref_members(r)?;
    with_consumer_ref(&members, |which| {
        s.deregister_stream_consumer(ctx.now, which)
    })?;
    Ok(Value::Null)
}

fn list_stream_consumers(
    s: &mut DataStreams,
    ctx: &Ctx,
    r: &Reader<'_>,
) -> Result<Value, KinesisError> {
    let max_results = r.integer("MaxResults")?;
    let next_token = r.string("NextToken")?;
    let stream_arn = r.string("StreamARN")?;
    r.timestamp_unix_ms("StreamCreationTimestamp")?;
    let mut v = Validation::new();
    v.check(
        "maxResults",
        int_value(max_results),
        &[Rule::Min(1), Rule::Max(10_000)],
    );
    v.check(
        "nextToken",
        string_value(&next_token),
        &[Rule::LengthMin(1), Rule::LengthMax(1_048_576)],
    );
    v.check(
        "streamARN",
        string_value(&stream_arn),
        &stream_arn_rules(true),
    );
    v.finish()?;
    let stream = stream_from_arn(&stream_arn.unwrap_or_default())?;
    let start = match next_token.as_deref() {
        None => 0,
        Some(token) => crate::streams::token::decode(token)
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|t| {
                t.strip_prefix("consumers:")
                    .and_then(|n| n.parse::<usize>().ok())
            })
            .ok_or_else(|| {
                KinesisError::invalid_argument(format!("NextToken {token} is invalid."))
            })?,
    };
    let max = max_results.map_or(100, |m| usize::try_from(m).unwrap_or(100));
    let (consumers, more) = s.list_stream_consumers(ctx.now, &stream, start, max)?;
    let mut out = Map::new();
    out.insert(
        "Consumers".into(),
        Value::Array(
            consumers
                .iter()
                .map(|c| consumer_json(ctx, c, false))
                .collect(),
        ),
    );
    if more {
        let token = format!("consumers:{}", start + consumers.len());
        out.insert(
            "NextToken".into(),
            json!(crate::streams::token::encode(token.as_bytes())),
        );
    }
    Ok(Value::Object(out))
}

//! Per-delivery-stream metrics per simulated minute, under CloudWatch's `AWS/Firehose` names.

use crate::sim::SimTime;
use crate::sim::time::MILLIS_PER_MINUTE;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Minutes of metrics a delivery stream keeps (one day, as the Data Streams side).
pub const METRIC_MINUTES_KEPT: u64 = 24 * 60;

/// The metrics the simulator records, named as in CloudWatch's `AWS/Firehose` namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FirehoseMetric {
    /// Records accepted (PutRecord, PutRecordBatch, or read from the source stream).
    IncomingRecords,
    /// Bytes accepted.
    IncomingBytes,
    /// Records delivered to S3.
    DeliveryToS3Records,
    /// Bytes delivered to S3 (before compression).
    DeliveryToS3Bytes,
    /// Successful S3 puts (the minute's value is the count of objects written).
    DeliveryToS3Success,
    /// Successful HTTP endpoint deliveries.
    DeliveryToHttpEndpointSuccess,
    /// Age of the oldest record in Firehose when it was delivered, in ms (maximum over the minute).
    DeliveryToS3DataFreshness,
    /// GetRecords calls made on the source Kinesis data stream.
    DataReadFromKinesisStreamRecords,
    /// Records delivered to the HTTP endpoint.
    DeliveryToHttpEndpointRecords,
    /// Bytes delivered to the HTTP endpoint (before compression).
    DeliveryToHttpEndpointBytes,
    /// Direct PUT records refused because the delivery stream's throughput quotas were exceeded.
    ThrottledRecords,
    /// Records indexed into the OpenSearch destination.
    DeliveryToAmazonOpenSearchServiceRecords,
    /// Bytes indexed into the OpenSearch destination.
    DeliveryToAmazonOpenSearchServiceBytes,
    /// Successful Bulk requests to the OpenSearch destination.
    DeliveryToAmazonOpenSearchServiceSuccess,
    /// Rows a Redshift COPY loaded.
    DeliveryToRedshiftRecords,
    /// Bytes of record data a Redshift COPY loaded (before compression).
    DeliveryToRedshiftBytes,
    /// Successful Redshift COPYs (a failed attempt counts 0).
    DeliveryToRedshiftSuccess,
}

impl FirehoseMetric {
    /// CloudWatch's metric name.
    pub fn cloudwatch_name(self) -> &'static str {
        match self {
            FirehoseMetric::IncomingRecords => "IncomingRecords",
            FirehoseMetric::IncomingBytes => "IncomingBytes",
            FirehoseMetric::DeliveryToS3Records => "DeliveryToS3.Records",
            FirehoseMetric::DeliveryToS3Bytes => "DeliveryToS3.Bytes",
            FirehoseMetric::DeliveryToS3Success => "DeliveryToS3.Success",
            FirehoseMetric::DeliveryToHttpEndpointSuccess => "DeliveryToHttpEndpoint.Success",
            FirehoseMetric::DeliveryToS3DataFreshness => "DeliveryToS3.DataFreshness",
            FirehoseMetric::DataReadFromKinesisStreamRecords => "DataReadFromKinesisStream.Records",
            FirehoseMetric::DeliveryToHttpEndpointRecords => "DeliveryToHttpEndpoint.Records",
            FirehoseMetric::DeliveryToHttpEndpointBytes => "DeliveryToHttpEndpoint.Bytes",
            FirehoseMetric::ThrottledRecords => "ThrottledRecords",
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceRecords => {
                "DeliveryToAmazonOpenSearchService.Records"
            }
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceBytes => {
                "DeliveryToAmazonOpenSearchService.Bytes"
            }
            FirehoseMetric::DeliveryToAmazonOpenSearchServiceSuccess => {
                "DeliveryToAmazonOpenSearchService.Success"
            }
            FirehoseMetric::DeliveryToRedshiftRecords => "DeliveryToRedshift.Records",
            FirehoseMetric::DeliveryToRedshiftBytes => "DeliveryToRedshift.Bytes",
            FirehoseMetric::DeliveryToRedshiftSuccess => "DeliveryToRedshift.Success",
        }
    }

    /// Whether the minute's value is a maximum (otherwise a sum).
    pub fn is_max(self) -> bool {
        matches!(self, FirehoseMetric::DeliveryToS3DataFreshness)
    }
}

/// One delivery stream's metrics: (minute, metric) -> value, the oldest minutes rolling off.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryMetrics {
    /// As `[key, value]` pairs: JSON snapshots (`Session.snapshot()`) need string map keys.
    #[serde(with = "crate::analytics::pairs")]
    minutes: BTreeMap<(u64, FirehoseMetric), u64>,
}

impl DeliveryMetrics {
    /// Adds `value` to the minute of `now` (or raises the maximum).
    pub fn record(&mut self, now: SimTime, metric: FirehoseMetric, value: u64) {
        let minute = now.as_millis() / MILLIS_PER_MINUTE;
        let slot = self.minutes.entry((minute, metric)).or_insert(0);
        if metric.is_max() {
            *slot = (*slot).max(value);
        } else {
            *slot = slot.saturating_add(value);
        }
        let oldest = minute.saturating_sub(METRIC_MINUTES_KEPT);
        while let Some((&(m, _), _)) = self.minutes.first_key_value() {
            if m >= oldest {
                break;
            }
            self.minutes.pop_first();
        }
    }

    /// Every recorded value: (start of the minute, metric, value), oldest first.
    pub fn values(&self) -> Vec<(SimTime, FirehoseMetric, u64)> {
        self.minutes
            .iter()
            .map(|(&(m, metric), &v)| (SimTime::from_millis(m * MILLIS_PER_MINUTE), metric, v))
            .collect()
    }

    /// The sum (or maximum) of `metric` over all kept minutes.
    pub fn total(&self, metric: FirehoseMetric) -> u64 {
        let values = self
            .minutes
            .iter()
            .filter(|((_, m), _)| *m == metric)
            .map(|(_, v)| *v);
        if metric.is_max() {
            values.max().unwrap_or(0)
        } else {
            values.sum()
        }
    }
}

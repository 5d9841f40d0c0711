//! The bill: usage priced line by line, the way AWS itemises it.

use super::prices::PriceTable;
use super::usage::{StreamUsage, Usage};
use super::{GIB_BYTES, MS_PER_HOUR, MS_PER_MONTH, PICOS_PER_MICRO, format_decimal, format_usd};
use serde::{Deserialize, Serialize};

/// The service a line belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Service {
    /// Amazon Kinesis Data Streams.
    DataStreams,
    /// Amazon Data Firehose.
    Firehose,
    /// Kinesis Data Analytics (Managed Service for Apache Flink).
    Analytics,
}

/// What a line charges for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Item {
    /// Provisioned shard hours.
    ShardHours,
    /// Provisioned PUT payload units.
    PutPayloadUnits,
    /// Provisioned extended retention shard hours.
    ExtendedRetentionShardHours,
    /// Provisioned enhanced fan-out consumer-shard hours.
    EfoConsumerShardHours,
    /// Provisioned enhanced fan-out data retrieval.
    EfoDataRetrieval,
    /// On-demand stream hours.
    OnDemandStreamHours,
    /// On-demand data in.
    OnDemandDataIn,
    /// On-demand data out (GetRecords).
    OnDemandDataOut,
    /// On-demand enhanced fan-out data out.
    OnDemandEfoDataOut,
    /// On-demand extended retention (24 hours to 7 days).
    OnDemandExtendedRetention,
    /// Long-term retention (beyond 7 days).
    LongTermRetention,
    /// Firehose ingestion.
    FirehoseIngestion,
    /// Firehose format conversion.
    FirehoseFormatConversion,
    /// Firehose VPC delivery data.
    FirehoseVpcData,
    /// Firehose VPC delivery Availability-Zone hours.
    FirehoseVpcAzHours,
    /// Firehose dynamic partitioning data.
    FirehoseDynamicPartitioningData,
    /// Firehose dynamic partitioning objects.
    FirehoseDynamicPartitioningObjects,
    /// Analytics KPU hours.
    AnalyticsKpuHours,
}

impl Item {
    /// The line's name, as on an AWS bill.
    pub fn label(self) -> &'static str {
        match self {
            Item::ShardHours => "Provisioned shard hours",
            Item::PutPayloadUnits => "PUT payload units",
            Item::ExtendedRetentionShardHours => "Extended retention (24 h to 7 days)",
            Item::EfoConsumerShardHours => "Enhanced fan-out consumer-shard hours",
            Item::EfoDataRetrieval => "Enhanced fan-out data retrieval",
            Item::OnDemandStreamHours => "On-demand stream hours",
            Item::OnDemandDataIn => "On-demand data in",
            Item::OnDemandDataOut => "On-demand data out",
            Item::OnDemandEfoDataOut => "On-demand enhanced fan-out data out",
            Item::OnDemandExtendedRetention => "On-demand extended retention (24 h to 7 days)",
            Item::LongTermRetention => "Long-term retention (beyond 7 days)",
            Item::FirehoseIngestion => "Firehose data ingested",
            Item::FirehoseFormatConversion => "Firehose format conversion",
            Item::FirehoseVpcData => "Firehose VPC delivery data",
            Item::FirehoseVpcAzHours => "Firehose VPC delivery AZ hours",
            Item::FirehoseDynamicPartitioningData => "Firehose dynamic partitioning data",
            Item::FirehoseDynamicPartitioningObjects => "Firehose dynamic partitioning objects",
            Item::AnalyticsKpuHours => "Analytics KPU hours",
        }
    }

    /// The unit the price is per.
    pub fn unit(self) -> &'static str {
        match self {
            Item::ShardHours | Item::ExtendedRetentionShardHours => "shard-hour",
            Item::PutPayloadUnits => "million units",
            Item::EfoConsumerShardHours => "consumer-shard-hour",
            Item::OnDemandStreamHours => "stream-hour",
            Item::OnDemandExtendedRetention | Item::LongTermRetention => "GB-month",
            Item::FirehoseVpcAzHours => "AZ-hour",
            Item::FirehoseDynamicPartitioningObjects => "1,000 objects",
            Item::AnalyticsKpuHours => "KPU-hour",
            _ => "GB",
        }
    }

    /// The exact integer unit the quantity is counted in.
    pub fn base_unit(self) -> &'static str {
        match self {
            Item::ShardHours | Item::ExtendedRetentionShardHours => "shard-ms",
            Item::PutPayloadUnits => "unit",
            Item::EfoConsumerShardHours => "consumer-shard-ms",
            Item::OnDemandStreamHours => "stream-ms",
            Item::OnDemandExtendedRetention | Item::LongTermRetention => "byte-ms",
            Item::FirehoseVpcAzHours => "AZ-hour",
            Item::FirehoseDynamicPartitioningObjects => "object",
            Item::AnalyticsKpuHours => "KPU-ms",
            _ => "byte",
        }
    }

    /// How many base units make one priced unit.
    pub fn base_per_unit(self) -> u128 {
        match self {
            Item::ShardHours
            | Item::ExtendedRetentionShardHours
            | Item::EfoConsumerShardHours
            | Item::OnDemandStreamHours
            | Item::AnalyticsKpuHours => MS_PER_HOUR,
            Item::PutPayloadUnits => 1_000_000,
            Item::OnDemandExtendedRetention | Item::LongTermRetention => GIB_BYTES * MS_PER_MONTH,
            Item::FirehoseVpcAzHours => 1,
            Item::FirehoseDynamicPartitioningObjects => 1_000,
            _ => GIB_BYTES,
        }
    }

    /// What the line is for, in a sentence.
    pub fn explanation(self) -> &'static str {
        match self {
            Item::ShardHours => {
                "every open shard, from its creation to its closing or the stream's deletion, while provisioned"
            }
            Item::PutPayloadUnits => {
                "each record accepted while provisioned, in 25 KB units, rounded up (a 5 KB record is 1 unit, a 45 KB record 2)"
            }
            Item::ExtendedRetentionShardHours => {
                "every open shard while provisioned with a retention period over 24 hours"
            }
            Item::EfoConsumerShardHours => {
                "each registered enhanced fan-out consumer times each open shard, while provisioned"
            }
            Item::EfoDataRetrieval => {
                "bytes pushed to enhanced fan-out consumers while provisioned"
            }
            Item::OnDemandStreamHours => "every hour the stream exists in on-demand mode",
            Item::OnDemandDataIn => "bytes written while on-demand, each record rounded up to 1 KB",
            Item::OnDemandDataOut => {
                "bytes read with GetRecords while on-demand, each record rounded up to 1 KB"
            }
            Item::OnDemandEfoDataOut => {
                "bytes pushed to enhanced fan-out consumers while on-demand, each record rounded up to 1 KB"
            }
            Item::OnDemandExtendedRetention => {
                "data stored between 24 hours and 7 days old, per GB-month (730 hours)"
            }
            Item::LongTermRetention => "data stored beyond 7 days old, per GB-month (730 hours)",
            Item::FirehoseIngestion => {
                "bytes ingested, each record rounded up to 5 KB, at this tier's rate"
            }
            Item::FirehoseFormatConversion => "bytes converted to Parquet or ORC, 5 KB rounding",
            Item::FirehoseVpcData => "bytes delivered into a VPC",
            Item::FirehoseVpcAzHours => {
                "each Availability Zone hour of VPC delivery, partial hours whole"
            }
            Item::FirehoseDynamicPartitioningData => {
                "bytes delivered to S3 with dynamic partitioning"
            }
            Item::FirehoseDynamicPartitioningObjects => {
                "S3 objects delivered with dynamic partitioning"
            }
            Item::AnalyticsKpuHours => "Kinesis Processing Units times hours running",
        }
    }
}

/// One line of a bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// The service.
    pub service: Service,
    /// The resource billed: stream, Firehose stream or application name.
    pub resource: String,
    /// What is charged.
    pub item: Item,
    /// How much, in [`Item::base_unit`]s.
    pub quantity_base: u128,
    /// Price of one [`Item::unit`], in micro-dollars.
    pub unit_price_micros: u64,
    /// The charge, in pico-dollars ($1 = 10^12): `quantity_base * unit_price / base_per_unit`, rounded down.
    pub amount_picos: u128,
}

impl Line {
    fn new(service: Service, resource: &str, item: Item, quantity_base: u128, price: u64) -> Line {
        let amount_picos = quantity_base
            .saturating_mul(u128::from(price))
            .saturating_mul(PICOS_PER_MICRO)
            / item.base_per_unit();
        Line {
            service,
            resource: resource.to_string(),
            item,
            quantity_base,
            unit_price_micros: price,
            amount_picos,
        }
    }

    /// The quantity in priced units, as a decimal (e.g. "6" shard-hours, "0.000041" million units).
    pub fn quantity_text(&self) -> String {
        format_decimal(self.quantity_base, self.item.base_per_unit(), 9)
    }

    /// The unit price in dollars (e.g. "$0.015").
    pub fn unit_price_text(&self) -> String {
        format_usd(u128::from(self.unit_price_micros) * PICOS_PER_MICRO)
    }

    /// The amount in dollars (e.g. "$0.09").
    pub fn amount_text(&self) -> String {
        format_usd(self.amount_picos)
    }

    /// A short explanation: what is counted, and the arithmetic.
    pub fn explanation(&self) -> String {
        format!(
            "{}: {} {} x {} = {}",
            self.item.explanation(),
            self.quantity_text(),
            self.item.unit(),
            self.unit_price_text(),
            self.amount_text()
        )
    }
}

/// A priced bill.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bill {
    /// Lines with a non-zero quantity, by service, then resource, then item.
    pub lines: Vec<Line>,
    /// Sum of the lines, in pico-dollars.
    pub total_picos: u128,
    /// Region of the prices used.
    pub region: String,
    /// Date of the prices used.
    pub prices_as_of: String,
}

impl Bill {
    /// Prices `usage` with `prices`.
    pub fn compute(usage: &Usage, prices: &PriceTable) -> Bill {
        let mut lines = Vec::new();
        for s in &usage.streams {
            stream_lines(s, prices, &mut lines);
        }
        firehose_lines(usage, prices, &mut lines);
        for a in &usage.analytics {
            lines.push(Line::new(
                Service::Analytics,
                &a.name,
                Item::AnalyticsKpuHours,
                a.kpu_ms,
                prices.analytics_kpu_hour_micros,
            ));
        }
        lines.retain(|l| l.quantity_base > 0);
        lines.sort_by(|a, b| {
            (a.service, &a.resource, a.item).cmp(&(b.service, &b.resource, b.item))
        });
        let total_picos = lines
            .iter()
            .fold(0u128, |sum, l| sum.saturating_add(l.amount_picos));
        Bill {
            lines,
            total_picos,
            region: prices.region.clone(),
            prices_as_of: prices.as_of.clone(),
        }
    }

    /// The total in dollars.
    pub fn total_text(&self) -> String {
        format_usd(self.total_picos)
    }

    /// The total of one resource's lines, in pico-dollars.
    pub fn resource_total_picos(&self, service: Service, resource: &str) -> u128 {
        self.lines
            .iter()
            .filter(|l| l.service == service && l.resource == resource)
            .map(|l| l.amount_picos)
            .sum()
    }
}

fn stream_lines(s: &StreamUsage, p: &PriceTable, lines: &mut Vec<Line>) {
    let ds = Service::DataStreams;
    let mut add = |item: Item, quantity: u128, price: u64| {
        lines.push(Line::new(ds, &s.name, item, quantity, price));
    };
    add(
        Item::ShardHours,
        s.provisioned_shard_ms,
        p.provisioned_shard_hour_micros,
    );
    add(
        Item::PutPayloadUnits,
        u128::from(s.put_payload_units),
        p.put_payload_units_million_micros,
    );
    add(
        Item::ExtendedRetentionShardHours,
        s.extended_retention_shard_ms,
        p.provisioned_extended_retention_shard_hour_micros,
    );
    add(
        Item::EfoConsumerShardHours,
        s.efo_consumer_shard_ms,
        p.efo_consumer_shard_hour_micros,
    );
    add(
        Item::EfoDataRetrieval,
        u128::from(s.efo_bytes),
        p.efo_data_retrieval_gb_micros,
    );
    add(
        Item::OnDemandStreamHours,
        s.on_demand_stream_ms,
        p.on_demand_stream_hour_micros,
    );
    add(
        Item::OnDemandDataIn,
        u128::from(s.on_demand_billed_bytes_in),
        p.on_demand_data_in_gb_micros,
    );
    add(
        Item::OnDemandDataOut,
        u128::from(s.on_demand_billed_bytes_out),
        p.on_demand_data_out_gb_micros,
    );
    add(
        Item::OnDemandEfoDataOut,
        u128::from(s.on_demand_billed_efo_bytes),
        p.on_demand_efo_data_out_gb_micros,
    );
    add(
        Item::OnDemandExtendedRetention,
        s.on_demand_extended_byte_ms,
        p.on_demand_extended_retention_gb_month_micros,
    );
    add(
        Item::LongTermRetention,
        s.long_term_byte_ms,
        p.long_term_retention_gb_month_micros,
    );
}

/// Firehose lines: ingestion split over the account-wide tiers in the order the streams are listed, then the
/// optional features.
fn firehose_lines(usage: &Usage, p: &PriceTable, lines: &mut Vec<Line>) {
    let fh = Service::Firehose;
    let mut account_bytes: u128 = 0;
    for f in &usage.firehose {
        let mut left = u128::from(f.billed_bytes);
        for (i, tier) in p.firehose_ingest_tiers.iter().enumerate() {
            if left == 0 {
                break;
            }
            let last = i + 1 == p.firehose_ingest_tiers.len();
            let room = match tier.up_to_gb {
                Some(gb) if !last => (u128::from(gb) * GIB_BYTES).saturating_sub(account_bytes),
                // The last tier takes the rest, whatever its bound.
                _ => u128::MAX,
            };
            let here = left.min(room);
            if here > 0 {
                lines.push(Line::new(
                    fh,
                    &f.name,
                    Item::FirehoseIngestion,
                    here,
                    tier.gb_micros,
                ));
                account_bytes += here;
                left -= here;
            }
        }
        let extras = [
            (
                Item::FirehoseFormatConversion,
                u128::from(f.format_conversion_billed_bytes),
                p.firehose_format_conversion_gb_micros,
            ),
            (
                Item::FirehoseVpcData,
                u128::from(f.vpc_bytes),
                p.firehose_vpc_gb_micros,
            ),
            (
                Item::FirehoseVpcAzHours,
                u128::from(f.vpc_az_hours),
                p.firehose_vpc_az_hour_micros,
            ),
            (
                Item::FirehoseDynamicPartitioningData,
                u128::from(f.dynamic_partitioning_bytes),
                p.firehose_dynamic_partitioning_gb_micros,
            ),
            (
                Item::FirehoseDynamicPartitioningObjects,
                u128::from(f.dynamic_partitioning_objects),
                p.firehose_dynamic_partitioning_thousand_objects_micros,
            ),
        ];
        for (item, quantity, price) in extras {
            lines.push(Line::new(fh, &f.name, item, quantity, price));
        }
    }
}

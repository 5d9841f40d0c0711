"""boto3 against `kinesim serve`: the real AWS SDK for Python, unmodified, pointed at the local endpoint.

Run by `.ci/test` with KINESIM_BIN set to the built binary: python3 -m unittest tests/endpoint/test_boto3.py
"""

import json
import os
import subprocess
import unittest
import urllib.request

import boto3
from botocore.config import Config


class Boto3AgainstKinesim(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        binary = os.environ.get("KINESIM_BIN", "target/debug/kinesim")
        cls.server = subprocess.Popen(
            [binary, "serve", "--port", "0"], stdout=subprocess.PIPE, text=True
        )
        line = cls.server.stdout.readline().strip()
        prefix = "kinesim listening on "
        assert line.startswith(prefix), line
        cls.endpoint = line[len(prefix):]
        cls.kinesis = boto3.client(
            "kinesis",
            endpoint_url=cls.endpoint,
            region_name="us-east-1",
            aws_access_key_id="any",
            aws_secret_access_key="any",
            config=Config(retries={"total_max_attempts": 1}),  # one attempt: no hidden retries
        )

    @classmethod
    def tearDownClass(cls):
        cls.server.kill()
        cls.server.wait()

    def advance(self, ms):
        request = urllib.request.Request(
            self.endpoint + "/_kinesim/advance", data=json.dumps({"ms": ms}).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def test_put_and_read_records(self):
        self.kinesis.create_stream(StreamName="boto", ShardCount=2)
        summary = self.kinesis.describe_stream_summary(StreamName="boto")["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamStatus"], "CREATING")
        self.advance(10_000)
        summary = self.kinesis.describe_stream_summary(StreamName="boto")["StreamDescriptionSummary"]
        self.assertEqual(summary["StreamStatus"], "ACTIVE")
        self.assertEqual(summary["OpenShardCount"], 2)

        put = self.kinesis.put_records(
            StreamName="boto",
            Records=[{"Data": f"record {i}".encode(), "PartitionKey": f"key-{i}"} for i in range(20)],
        )
        self.assertEqual(put["FailedRecordCount"], 0)
        self.assertEqual(len(put["Records"]), 20)

        shards = self.kinesis.list_shards(StreamName="boto")["Shards"]
        self.assertEqual([s["ShardId"] for s in shards], ["shardId-000000000000", "shardId-000000000001"])
        self.assertEqual(shards[1]["HashKeyRange"]["EndingHashKey"], str(2**128 - 1))

        read = []
        for shard in shards:
            iterator = self.kinesis.get_shard_iterator(
                StreamName="boto", ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            got = self.kinesis.get_records(ShardIterator=iterator, Limit=100)
            self.assertEqual(got["MillisBehindLatest"], 0)
            for record in got["Records"]:
                self.assertIsInstance(record["Data"], bytes)
                self.assertEqual(record["ApproximateArrivalTimestamp"].year, 2026)
                read.append(record["Data"].decode())
        self.assertEqual(sorted(read), sorted(f"record {i}" for i in range(20)))

    def test_errors_arrive_as_botocore_exceptions(self):
        with self.assertRaises(self.kinesis.exceptions.ResourceNotFoundException) as caught:
            self.kinesis.describe_stream(StreamName="missing")
        self.assertEqual(
            caught.exception.response["Error"]["Message"],
            "Stream missing under account 000000000000 not found.",
        )
        with self.assertRaises(self.kinesis.exceptions.InvalidArgumentException):
            self.kinesis.get_records(ShardIterator="AAAA")

    def test_throttling_is_a_provisioned_throughput_exception(self):
        self.kinesis.create_stream(StreamName="hot", ShardCount=1)
        self.advance(10_000)
        big = b"x" * 600_000
        self.kinesis.put_record(StreamName="hot", Data=big, PartitionKey="k")
        with self.assertRaises(self.kinesis.exceptions.ProvisionedThroughputExceededException):
            self.kinesis.put_record(StreamName="hot", Data=big, PartitionKey="k")


if __name__ == "__main__":
    unittest.main()

"""boto3 against `kinesim serve`: the real AWS SDK for Python, unmodified, pointed at the local endpoint.

Run by `.ci/test` with KINESIM_BIN set to the built binary: python3 -m unittest tests/endpoint/test_boto3.py
"""

import http.client
import json
import os
import subprocess
import time
import unittest
import urllib.parse
import urllib.request

import boto3
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError

# Bounds every wait on an open SubscribeToShard stream: the server pushes an event at least every 5 simulated
# seconds (5 real seconds at --speed 1), so a read blocked this long means a hang, and botocore raises.
READ_TIMEOUT_S = 20
# Longest a test iterates an event stream before it fails.
STREAM_DEADLINE_S = 30


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
            # one attempt: no hidden retries; bounded reads: an open event stream never hangs a test
            config=Config(retries={"total_max_attempts": 1}, read_timeout=READ_TIMEOUT_S, connect_timeout=5),
        )

        common = dict(endpoint_url=cls.endpoint, region_name="us-east-1", aws_access_key_id="any",
                      aws_secret_access_key="any", config=Config(retries={"total_max_attempts": 1},
                                                                 s3={"addressing_style": "path"}))
        cls.firehose = boto3.client("firehose", **common)
        cls.s3 = boto3.client("s3", **common)

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

    def status(self):
        with urllib.request.urlopen(self.endpoint + "/_kinesim/status", timeout=10) as response:
            return json.load(response)

    def wait_until_no_subscription_is_open(self, advance_ms=0):
        """Waits (bounded) until the server's stream threads are gone; `advance_ms` per try makes them write."""
        for _ in range(20):
            if self.status()["openSubscriptions"] == 0:
                return
            if advance_ms:
                self.advance(advance_ms)
            time.sleep(0.2)
        self.assertEqual(self.status()["openSubscriptions"], 0)

    def active_consumer(self, stream, shards=1):
        """An ACTIVE stream with one ACTIVE registered consumer; returns the consumer's ARN."""
        self.kinesis.create_stream(StreamName=stream, ShardCount=shards)
        self.advance(10_000)
        arn = self.kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
        consumer = self.kinesis.register_stream_consumer(StreamARN=arn, ConsumerName="efo")["Consumer"]
        self.assertEqual(consumer["ConsumerStatus"], "CREATING")
        self.advance(10_000)
        described = self.kinesis.describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])
        self.assertEqual(described["ConsumerDescription"]["ConsumerStatus"], "ACTIVE")
        return consumer["ConsumerARN"]

    def subscribe(self, consumer_arn, **position):
        return self.kinesis.subscribe_to_shard(
            ConsumerARN=consumer_arn,
            ShardId="shardId-000000000000",
            StartingPosition=position or {"Type": "TRIM_HORIZON"},
        )

    def bounded(self, event_stream):
        """Iterates an EventStream, failing the test after STREAM_DEADLINE_S (each read is bounded too)."""
        deadline = time.monotonic() + STREAM_DEADLINE_S
        for event in event_stream:
            self.assertLess(time.monotonic(), deadline, "the event stream ran too long")
            yield event

    def test_subscribe_to_shard_streams_records_until_the_subscription_expires(self):
        consumer_arn = self.active_consumer("efo")
        subscription = self.subscribe(consumer_arn)
        self.assertEqual(subscription["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(
            subscription["ResponseMetadata"]["HTTPHeaders"]["content-type"], "application/vnd.amazon.eventstream"
        )
        # Puts go through while the subscription's stream is open.
        put = self.kinesis.put_records(
            StreamName="efo",
            Records=[{"Data": f"efo {i}".encode(), "PartitionKey": "k"} for i in range(5)],
        )
        self.assertEqual(put["FailedRecordCount"], 0)
        sequence_numbers = [r["SequenceNumber"] for r in put["Records"]]

        received = []
        events = self.bounded(subscription["EventStream"])
        for event in events:
            self.assertEqual(list(event), ["SubscribeToShardEvent"])
            inner = event["SubscribeToShardEvent"]
            self.assertIsInstance(inner["MillisBehindLatest"], int)
            received += inner["Records"]
            if inner["Records"]:
                self.assertEqual(inner["ContinuationSequenceNumber"], inner["Records"][-1]["SequenceNumber"])
            if len(received) >= 5:
                self.assertEqual(inner["MillisBehindLatest"], 0)
                break
        self.assertEqual([r["Data"] for r in received], [f"efo {i}".encode() for i in range(5)])
        self.assertEqual([r["SequenceNumber"] for r in received], sequence_numbers)
        self.assertEqual(received[0]["ApproximateArrivalTimestamp"].year, 2026)

        # A second SubscribeToShard within 5 s of the first is refused before any stream starts.
        self.advance(2_000)
        with self.assertRaises(self.kinesis.exceptions.ResourceInUseException) as caught:
            self.subscribe(consumer_arn)
        self.assertIsInstance(caught.exception, ClientError)

        # 5 simulated minutes end the subscription: the iteration finishes after the remaining events.
        self.advance(300_000)
        rest = list(events)
        self.assertTrue(all(e["SubscribeToShardEvent"]["Records"] == [] for e in rest))
        self.wait_until_no_subscription_is_open()

        # Resubscribing from the continuation point goes on where the last one stopped.
        put = self.kinesis.put_record(StreamName="efo", Data=b"after", PartitionKey="k")
        again = self.subscribe(
            consumer_arn, Type="AFTER_SEQUENCE_NUMBER", SequenceNumber=sequence_numbers[-1]
        )
        for event in self.bounded(again["EventStream"]):
            records = event["SubscribeToShardEvent"]["Records"]
            if records:
                self.assertEqual([r["Data"] for r in records], [b"after"])
                self.assertEqual(records[0]["SequenceNumber"], put["SequenceNumber"])
                break
        again["EventStream"].close()

    def test_a_later_subscription_takes_over_with_resource_in_use(self):
        consumer_arn = self.active_consumer("takeover")
        first = self.subscribe(consumer_arn)
        self.advance(6_000)
        second = self.subscribe(consumer_arn)
        with self.assertRaises(EventStreamError) as caught:
            for _ in self.bounded(first["EventStream"]):
                pass
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceInUseException")
        self.assertIn(consumer_arn, caught.exception.response["Error"]["Message"])
        self.advance(300_000)
        self.assertTrue(all("SubscribeToShardEvent" in e for e in self.bounded(second["EventStream"])))

    def test_refusals_are_plain_json_errors(self):
        with self.assertRaises(self.kinesis.exceptions.ResourceNotFoundException):
            self.subscribe("arn:aws:kinesis:us-east-1:000000000000:stream/none/consumer/c:1")
        with self.assertRaises(ClientError) as caught:
            self.subscribe("not an arn")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")

    def test_the_frames_decode_with_botocores_event_stream_decoder(self):
        consumer_arn = self.active_consumer("frames")
        self.kinesis.put_record(StreamName="frames", Data=b"raw", PartitionKey="k")
        url = urllib.parse.urlparse(self.endpoint)
        connection = http.client.HTTPConnection(url.hostname, url.port, timeout=READ_TIMEOUT_S)
        body = json.dumps(
            {
                "ConsumerARN": consumer_arn,
                "ShardId": "shardId-000000000000",
                "StartingPosition": {"Type": "TRIM_HORIZON"},
            }
        )
        connection.request(
            "POST",
            "/",
            body=body,
            headers={
                "X-Amz-Target": "Kinesis_20131202.SubscribeToShard",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Content-Type"), "application/vnd.amazon.eventstream")
        self.assertEqual(response.getheader("Transfer-Encoding"), "chunked")
        buffer = EventStreamBuffer()
        messages = []
        deadline = time.monotonic() + STREAM_DEADLINE_S
        while len(messages) < 2 and time.monotonic() < deadline:
            chunk = response.read1(65536)
            self.assertTrue(chunk, "the stream ended early")
            buffer.add_data(chunk)
            messages += list(buffer)  # checks both CRCs and the lengths
        initial, event = messages[:2]
        self.assertEqual(initial.headers, {":message-type": "event", ":event-type": "initial-response",
                                           ":content-type": "application/json"})
        self.assertEqual(initial.payload, b"{}")
        self.assertEqual(event.headers, {":message-type": "event", ":event-type": "SubscribeToShardEvent",
                                         ":content-type": "application/json"})
        payload = json.loads(event.payload)
        self.assertEqual([r["Data"] for r in payload["Records"]], ["cmF3"])
        self.assertEqual(payload["ContinuationSequenceNumber"], payload["Records"][0]["SequenceNumber"])
        self.assertEqual(payload["MillisBehindLatest"], 0)
        self.assertEqual(event.to_response_dict()["status_code"], 200)

        # The client goes away: the server notices at its next write and frees the stream's thread.
        response.close()
        connection.close()
        self.wait_until_no_subscription_is_open(advance_ms=5_000)  # a heartbeat event to write each time

    def test_firehose_delivers_gzip_objects_that_s3_lists_and_serves(self):
        import gzip
        self.s3.create_bucket(Bucket="fh-landing")
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertIn("fh-landing", names)
        with self.assertRaises(ClientError) as caught:
            self.s3.create_bucket(Bucket="fh-landing")
        self.assertEqual(caught.exception.response["Error"]["Code"], "BucketAlreadyOwnedByYou")

        arn = self.firehose.create_delivery_stream(
            DeliveryStreamName="to-s3",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::000000000000:role/firehose",
                "BucketARN": "arn:aws:s3:::fh-landing",
                "Prefix": "events/year=!{timestamp:yyyy}/",
                "ErrorOutputPrefix": "errors/!{firehose:error-output-type}/",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 60},
                "CompressionFormat": "GZIP",
                "ProcessingConfiguration": {"Enabled": True, "Processors": [
                    {"Type": "AppendDelimiterToRecord", "Parameters": []}]},
            },
        )["DeliveryStreamARN"]
        self.assertEqual(arn, "arn:aws:firehose:us-east-1:000000000000:deliverystream/to-s3")
        self.advance(10_000)
        description = self.firehose.describe_delivery_stream(DeliveryStreamName="to-s3")["DeliveryStreamDescription"]
        self.assertEqual(description["DeliveryStreamStatus"], "ACTIVE")
        self.assertEqual(description["VersionId"], "1")
        self.assertIn("to-s3", self.firehose.list_delivery_streams()["DeliveryStreamNames"])

        one = self.firehose.put_record(DeliveryStreamName="to-s3", Record={"Data": b'{"n":0}'})
        self.assertTrue(one["RecordId"])
        batch = self.firehose.put_record_batch(
            DeliveryStreamName="to-s3", Records=[{"Data": ('{"n":%d}' % i).encode()} for i in range(1, 5)])
        self.assertEqual(batch["FailedPutCount"], 0)
        self.assertEqual(len(batch["RequestResponses"]), 4)
        self.assertEqual(self.s3.list_objects_v2(Bucket="fh-landing").get("KeyCount"), 0, "still buffering")

        self.advance(70_000)
        top = self.s3.list_objects_v2(Bucket="fh-landing", Delimiter="/")
        self.assertEqual([p["Prefix"] for p in top["CommonPrefixes"]], ["events/"])
        listed = self.s3.list_objects_v2(Bucket="fh-landing", Prefix="events/year=2026/")
        self.assertEqual(listed["KeyCount"], 1)
        key = listed["Contents"][0]["Key"]
        self.assertRegex(key, r"^events/year=2026/to-s3-1-2026-01-01-\d\d-\d\d-\d\d-[0-9a-f-]{36}\.gz$")
        head = self.s3.head_object(Bucket="fh-landing", Key=key)
        self.assertEqual(head["ContentLength"], listed["Contents"][0]["Size"])
        body = self.s3.get_object(Bucket="fh-landing", Key=key)["Body"].read()
        lines = gzip.decompress(body).decode().splitlines()
        self.assertEqual([json.loads(line)["n"] for line in lines], [0, 1, 2, 3, 4])

        with self.assertRaises(ClientError) as caught:
            self.s3.get_object(Bucket="fh-landing", Key="nope")
        self.assertEqual(caught.exception.response["Error"]["Code"], "NoSuchKey")
        with self.assertRaises(ClientError) as caught:
            self.firehose.update_destination(
                DeliveryStreamName="to-s3", CurrentDeliveryStreamVersionId="7",
                DestinationId="destinationId-000000000001", ExtendedS3DestinationUpdate={"Prefix": "x/"})
        self.assertEqual(caught.exception.response["Error"]["Code"], "ConcurrentModificationException")
        with self.assertRaises(ClientError) as caught:
            self.firehose.describe_delivery_stream(DeliveryStreamName="missing")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")

        # Pages of one key each, through continuation tokens.
        for i in range(3):
            self.firehose.put_record(DeliveryStreamName="to-s3", Record={"Data": b"more"})
            self.advance(61_000)
        paginator = self.s3.get_paginator("list_objects_v2")
        keys = [c["Key"] for page in paginator.paginate(Bucket="fh-landing", PaginationConfig={"PageSize": 1})
                for c in page.get("Contents", [])]
        self.assertEqual(len(keys), 4)
        self.assertEqual(keys, sorted(keys))

    def test_firehose_delivers_to_an_http_endpoint_on_127_0_0_1(self):
        import http.server
        import threading

        seen = []

        class Endpoint(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                request_id = self.headers.get("X-Amz-Firehose-Request-Id")
                seen.append((request_id, json.loads(body)))
                out = json.dumps({"requestId": request_id, "timestamp": 1}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *args):
                pass

        server = http.server.HTTPServer(("127.0.0.1", 0), Endpoint)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = "http://127.0.0.1:%d/in" % server.server_address[1]
            self.firehose.create_delivery_stream(
                DeliveryStreamName="to-http",
                HttpEndpointDestinationConfiguration={
                    "EndpointConfiguration": {"Url": url, "Name": "local"},
                    "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0},
                    "RetryOptions": {"DurationInSeconds": 60},
                    "S3Configuration": {"RoleARN": "arn:aws:iam::000000000000:role/firehose",
                                        "BucketARN": "arn:aws:s3:::http-backup"},
                },
            )
            self.advance(10_000)
            self.firehose.put_record(DeliveryStreamName="to-http", Record={"Data": b"hello"})
            deadline = time.time() + 10
            while not seen and time.time() < deadline:
                time.sleep(0.1)
            self.assertEqual(len(seen), 1)
            request_id, body = seen[0]
            self.assertEqual(body["requestId"], request_id)
            self.assertEqual(body["records"], [{"data": "aGVsbG8="}])
            destination = self.firehose.describe_delivery_stream(DeliveryStreamName="to-http")[
                "DeliveryStreamDescription"]["Destinations"][0]
            self.assertEqual(destination["HttpEndpointDestinationDescription"]["EndpointConfiguration"]["Url"], url)
        finally:
            server.shutdown()


if __name__ == "__main__":
    unittest.main()

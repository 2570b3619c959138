"""AWS Lambda entry points.

``handler``: API Gateway (HTTP API v2 / REST) events -> the FastAPI app, via Mangum.
``s3_handler``: S3 batch mode (see slim_ocr/batch.py): ObjectCreated events under incoming/, and
S3 Batch Operations "Invoke AWS Lambda function" jobs that backfill objects already in the bucket.
"""
from mangum import Mangum

import app as _app
from app import app

handler = Mangum(app, lifespan="off")

_batch = None  # created on the first batch invocation; shares the app's OCR engine (one model load per process)


def s3_handler(event, context):
    global _batch
    if _batch is None:
        from slim_ocr.batch import BatchProcessor

        _batch = BatchProcessor(_app.ENGINE)
    return _batch.handle_event(event, getattr(context, "aws_request_id", None))

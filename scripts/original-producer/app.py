"""The ORIGINAL Python producer API, re-created from its behaviour description for the side-by-side
ingestion benchmark (scripts/bench-api.sh). Not part of wordfreq: it is the baseline that the Rust
producer-api is measured against, so it keeps the original's quirks on purpose:

- it blocks on every send (`future.get(timeout=10)`), one round trip to Kafka per request;
- the empty-text HTTPException(400) is caught by the blanket `except Exception` and comes back as 500;
- /health only checks that a producer object exists.

Run: KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:9092 uvicorn app:app --host 127.0.0.1 --port 8000 --workers 1
"""

import json
import logging
import os
from datetime import datetime

from fastapi import FastAPI, HTTPException
from fastapi.middleware.cors import CORSMiddleware
from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import BaseModel

logging.basicConfig(level=logging.INFO)
logger = logging.getLogger(__name__)

KAFKA_BOOTSTRAP_SERVERS = os.getenv("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
KAFKA_TOPIC = "user_text"
# The original pinned the protocol version instead of probing the broker. The benchmark can override
# it (KAFKA_API_VERSION=2.0.2 style) if a broker rejects the pinned one; the default is the original's.
KAFKA_API_VERSION = tuple(int(part) for part in os.getenv("KAFKA_API_VERSION", "2.0.2").split("."))

app = FastAPI(title="Word Count Producer API")

app.add_middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_credentials=True,
    allow_methods=["*"],
    allow_headers=["*"],
)

producer = None


class TextMessage(BaseModel):
    text: str
    user_id: str = "anonymous"


@app.on_event("startup")
async def startup_event():
    global producer
    try:
        producer = KafkaProducer(
            bootstrap_servers=KAFKA_BOOTSTRAP_SERVERS,
            value_serializer=lambda v: json.dumps(v).encode("utf-8"),
            key_serializer=lambda k: k.encode("utf-8"),
            retries=5,
            retry_backoff_ms=100,
            request_timeout_ms=30000,
            api_version=KAFKA_API_VERSION,
        )
        logger.info(f"Connected to Kafka at {KAFKA_BOOTSTRAP_SERVERS}")
    except Exception as e:
        logger.error(f"Failed to connect to Kafka: {e}")
        raise


@app.on_event("shutdown")
async def shutdown_event():
    if producer:
        producer.close()


@app.get("/")
async def root():
    return {"message": "Word Count Producer API is running"}


@app.get("/health")
async def health():
    # As in the original: "connected" means only that a producer object was made at startup.
    return {
        "status": "healthy",
        "kafka_connected": producer is not None,
        "timestamp": datetime.now().isoformat(),
    }


@app.post("/submit_text")
async def submit_text(message: TextMessage):
    try:
        text = message.text.strip()
        if not text:
            # Caught by the `except Exception` below and answered as 500: the original's bug, kept.
            raise HTTPException(status_code=400, detail="Text cannot be empty")

        payload = {
            "text": text,
            "user_id": message.user_id,
            "timestamp": datetime.now().isoformat(),
        }
        future = producer.send(KAFKA_TOPIC, key=message.user_id, value=payload)
        # Blocking wait inside an async handler: it stalls the event loop for the whole round trip,
        # which is what bounds the original's throughput. Kept on purpose.
        record_metadata = future.get(timeout=10)
        logger.info(
            f"Message sent to topic {record_metadata.topic} "
            f"partition {record_metadata.partition} offset {record_metadata.offset}"
        )
        return {
            "status": "success",
            "message": "Text submitted successfully",
            "kafka_metadata": {
                "topic": record_metadata.topic,
                "partition": record_metadata.partition,
                "offset": record_metadata.offset,
            },
        }
    except KafkaError as e:
        logger.error(f"Kafka error: {e}")
        raise HTTPException(status_code=500, detail=f"Failed to send message to Kafka: {e}")
    except Exception as e:
        logger.error(f"Unexpected error: {e}")
        raise HTTPException(status_code=500, detail=f"Internal server error: {e}")

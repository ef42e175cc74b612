"""The seeds' SDK flow, unchanged but for the base URL: upload, create a job, follow it.

export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=<a key from `ftgate keys create`>
python examples/quickstart.py [training-data.jsonl]
"""

import sys
import time
from pathlib import Path

from openai import OpenAI

TERMINAL = {"queued", "succeeded", "failed", "cancelled"}
training_data = Path(
    sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "tests/data/elle-limericks.jsonl"
)

client = OpenAI()

with open(training_data, "rb") as training_file:
    ft_file = client.files.create(file=training_file, purpose="fine-tune")
print(ft_file)
print("Training File ID: " + ft_file.id)
client.files.wait_for_processing(ft_file.id, poll_interval=0.5)

ft_filejob = client.fine_tuning.jobs.create(training_file=ft_file.id, model="gpt-3.5-turbo", suffix="elle")
print(ft_filejob)
print("Fine-tuning Job ID: " + ft_filejob.id)

response = client.fine_tuning.jobs.retrieve(ft_filejob.id)
while response.status not in TERMINAL:
    time.sleep(0.5)
    response = client.fine_tuning.jobs.retrieve(ft_filejob.id)
print("Job ID:", response.id)
print("Status:", response.status)
print("Hyperparameters:", response.hyperparameters)
print("Trained Tokens:", response.trained_tokens)

events = client.fine_tuning.jobs.list_events(ft_filejob.id).data
events.reverse()
for event in events:
    print(event.message)

print([job.id for job in client.fine_tuning.jobs.list(limit=10)])

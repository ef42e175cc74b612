"""The seeds' SDK flow, unchanged but for the base URL and the model: upload, create a job,
follow it, then chat with the fine-tuned model.

export OPENAI_BASE_URL=http://127.0.0.1:8000/v1 OPENAI_API_KEY=<a key from `ftgate keys create`>
python examples/quickstart.py [training-data.jsonl]

The model is the local `tiny-chat` (`ftgate models build-tiny`) unless FTGATE_EXAMPLE_MODEL names
another one.
"""

import os
import sys
import time
from pathlib import Path

from openai import OpenAI

TERMINAL = {"succeeded", "failed", "cancelled"}
MODEL = os.environ.get("FTGATE_EXAMPLE_MODEL", "tiny-chat")
training_data = Path(
    sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent.parent / "tests/data/elle-limericks.jsonl"
)

client = OpenAI()

with open(training_data, "rb") as training_file:
    ft_file = client.files.create(file=training_file, purpose="fine-tune")
print(ft_file)
print("Training File ID: " + ft_file.id)
client.files.wait_for_processing(ft_file.id, poll_interval=0.5)

ft_filejob = client.fine_tuning.jobs.create(training_file=ft_file.id, model=MODEL, suffix="elle")
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

events = list(client.fine_tuning.jobs.list_events(ft_filejob.id, limit=100))  # every page
events.reverse()
for event in events:
    print(event.message)

print([job.id for job in client.fine_tuning.jobs.list(limit=10)])

fine_tuned_model_id = response.fine_tuned_model
if fine_tuned_model_id:
    completion = client.chat.completions.create(
        model=fine_tuned_model_id,
        messages=[
            {
                "role": "system",
                "content": "Elle is a factual chatbot that answers questions about elements in the "
                "periodic table with a limerick",
            },
            {"role": "user", "content": "Tell me about Gallium"},
        ],
        temperature=0,
    )
    print(completion.choices[0].message.content)

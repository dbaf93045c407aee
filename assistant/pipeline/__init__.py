"""The assistant end to end: audio -> wake word -> end of speech -> STT ->
understanding -> executor -> spoken reply.

- ``messages``: the small frozen messages passed between stages
- ``listener``: the synchronous wake / end-of-speech state machine
- ``turn``: one utterance or text through STT, understanding and the reply;
  understanding's ``Outcome`` is passed through unchanged, and every turn
  carries its ``Origin`` (VOICE for the microphone, the request's for `ask`)
- ``grammar_refresh``: the one owner of a phrase-restricted STT's phrase list
- ``live``: the asyncio tasks and bounded queues around a live microphone
- ``files``: the same turn on recordings (``assistant listen``, the demo)
- ``runtime``: loading every stage once from the settings, one line each
- ``devices``, ``speech``: thin adapters to the device service and the TTS
"""

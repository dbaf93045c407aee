"""Understanding: sentences -> intent calls -> executor actions and a reply.

engine.py chains the stages (templates, then the gazetteer, then the model),
asks before sensitive actions and dispatches to the handlers; it returns one
`Outcome` (outcome.py).  Around it, one module per job: matcher.py /
sentences.py / lists.py (hassil templates over the live names), compound.py
(two commands in one sentence), gazetteer.py and gazetteer_home.py (Home
Assistant's gazetteer-matcher: misheard names, follow-ups, ambiguity),
fallback.py (the stage contract) with llm.py, grammar.py, prompt.py and
fewshot.py (the small model), validate.py (the one check of a call),
policy.py (what is sensitive), origin.py and conversation.py (who asked, and
what waits for their "yes"), replies.py and responses.py (what is said, per
language), timers.py, warmup.py and phrases.py (the STT phrase list).
"""

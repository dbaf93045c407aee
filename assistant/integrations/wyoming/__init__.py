"""The Wyoming server: Home Assistant's speech-to-text, text-to-speech and
conversation agent, served by the assistant's own engines (issue 11).

``info`` says what is offered, ``handler`` answers one connection,
``server`` accepts connections (bounded) and ``advertise`` announces
``_wyoming._tcp`` by zeroconf.
"""

"""Terminal protocol drivers (imported as ``paychannels.drivers``): framing, codecs, dialogues."""

"""Real-time playback (Qt-free): the mixer the audio callback pulls (``mixer``), the output streams (``stream``)
and the player that ties them to a transport (``player``)."""

"""Room ``cli``: the ``qml`` console script. Thin: it parses, calls the rooms, prints."""

"""Built-in circuits, written only against qml's public API, exactly as a user would write them."""

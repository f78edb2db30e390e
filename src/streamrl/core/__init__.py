"""What every layer of streamrl uses and that depends on nothing of streamrl: optional
dependencies named by their extra, and files written atomically."""

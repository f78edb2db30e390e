def pytest_collection_modifyitems(items):
    """Slow learning tests first, so that parallel workers share them instead of one worker
    finishing the suite alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)

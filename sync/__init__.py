"""mimicsync.sync"""

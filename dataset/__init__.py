"""mimicsync.dataset"""

"""Widgets that more than a line of a page needs: the cvae class picker, the latent panel, the train form, the job view, …"""

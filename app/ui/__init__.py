"""The pieces every page shares, written once (streamlit): the frame around a page (link in,
link out, presenter mode, large fonts, theme, the error boundary), the share popover, the
exports panel, the lessons' buttons and cards, the step-by-step maths and the About cards."""

mod channels;
mod config;
mod telegram_text;

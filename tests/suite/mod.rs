mod routing;
mod run;

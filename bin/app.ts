import { buildApp } from '#lib/app';

// `cdk synth -c stage=dev|prod`: everything lives in lib/app.ts so the tests build the very same app.
buildApp().app.synth();

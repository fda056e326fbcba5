export { RunPage as default } from './Reports';

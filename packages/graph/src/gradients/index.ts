// Importing a gradient module attaches its builders to ops registered elsewhere (setGradient).
import './math';
import './control';
import './array';
import './reduce';
import './nn';
